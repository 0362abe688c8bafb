// One entry point for every trace joule reads: a run directory, or a power CSV with an optional epochs file.
import fs from 'node:fs';
import { JouleError } from '../../errors';
import type { PowerTrace } from '../trace';
import { parseEpochsCsv } from './epochs-file';
import { parsePowerCsv, type PowerCsvColumns } from './power-csv';
import { readRunTrace, type RunInfo } from './run-dir';

export interface LoadedTrace {
  trace: PowerTrace;
  /** run.json's facts, for a joule run directory. */
  info?: RunInfo;
}

export interface LoadTraceOptions {
  /** `epoch,end_time` CSV giving epoch boundaries on the trace's clock (replaces a run's own epochs). */
  epochsFile?: string;
  columns?: PowerCsvColumns;
}

export function loadTrace(file: string, options: LoadTraceOptions = {}): LoadedTrace {
  if (!fs.existsSync(file)) throw new JouleError('JOULE_BAD_ARGUMENT', `no such trace: ${file}`, { file });
  const loaded: LoadedTrace = fs.statSync(file).isDirectory() ? readRunTrace(file) : { trace: parsePowerCsv(fs.readFileSync(file, 'utf8'), file, options.columns) };
  if (options.epochsFile) {
    if (!fs.existsSync(options.epochsFile)) throw new JouleError('JOULE_BAD_ARGUMENT', `no such epochs file: ${options.epochsFile}`);
    const startS = Math.min(...loaded.trace.series.map((s) => s.timesS[0]));
    loaded.trace.epochs = parseEpochsCsv(fs.readFileSync(options.epochsFile, 'utf8'), options.epochsFile, startS);
  }
  return loaded;
}

export { isRunDirectory, readRunInfo, readRunTrace, type RunInfo } from './run-dir';
export { parsePowerCsv, parseTimestampS, parsePowerW, type PowerCsvColumns } from './power-csv';
export { parseEpochsCsv } from './epochs-file';
