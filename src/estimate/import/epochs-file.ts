// Epoch boundaries for an imported trace: a CSV of `epoch,end_time` (or `epoch,start_time,end_time`).
import { parse } from 'csv-parse/sync';
import { JouleError } from '../../errors';
import type { EpochSpan } from '../trace';
import { parseTimestampS } from './power-csv';

/**
 * Epochs from a CSV with a header naming `epoch` and `end_time` (and optionally `start_time`); times as
 * the trace's (nvidia-smi or ISO timestamps, or seconds). Without start times an epoch starts where the
 * one before ended, the first at `traceStartS`. Any unreadable line is an error naming it: a skipped
 * boundary would silently merge two epochs.
 */
export function parseEpochsCsv(text: string, file: string, traceStartS: number): EpochSpan[] {
  let rows: { record: string[]; info: { lines: number } }[];
  try {
    rows = parse(text, { relax_column_count: true, trim: true, skip_empty_lines: true, info: true, comment: '#', bom: true }) as unknown as typeof rows;
  } catch (error) {
    throw new JouleError('JOULE_BAD_ARGUMENT', `${file}: not CSV: ${(error as Error).message}`, { file });
  }
  const header = (rows[0]?.record ?? []).map((h) => h.toLowerCase());
  const epochCol = header.indexOf('epoch');
  const endCol = header.indexOf('end_time');
  const startCol = header.indexOf('start_time');
  if (epochCol < 0 || endCol < 0) {
    throw new JouleError('JOULE_BAD_ARGUMENT', `${file}:1: an epochs file needs the columns epoch,end_time[,start_time] (got: ${header.join(', ') || 'nothing'})`, { file, line: 1 });
  }
  const problems: string[] = [];
  const epochs: EpochSpan[] = [];
  let previousEndS = traceStartS;
  for (const { record, info } of rows.slice(1)) {
    const epoch = Number(record[epochCol]);
    const endS = parseTimestampS(record[endCol] ?? '');
    const startS = startCol >= 0 ? parseTimestampS(record[startCol] ?? '') : previousEndS;
    if (record.length !== header.length || !Number.isInteger(epoch) || Number.isNaN(endS) || Number.isNaN(startS)) {
      problems.push(`line ${info.lines}: ${record.join(',')}`);
      continue;
    }
    if (!(endS > startS)) {
      problems.push(`line ${info.lines}: epoch ${epoch} ends at or before it starts`);
      continue;
    }
    epochs.push({ epoch, startS, endS });
    previousEndS = endS;
  }
  if (problems.length > 0) {
    throw new JouleError('JOULE_BAD_ARGUMENT', `${file}: ${problems.length} unreadable epoch line(s):\n  ${problems.slice(0, 20).join('\n  ')}`, { file, problems });
  }
  if (epochs.length === 0) throw new JouleError('JOULE_BAD_ARGUMENT', `${file}: no epochs`, { file });
  return epochs;
}
