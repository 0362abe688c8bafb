// What `--validate RUNS|SWEEPS|TRACES...` names, as the traces to load: run directories, sweeps' runs, CSV traces with their epochs files beside them.
import fs from 'node:fs';
import path from 'node:path';
import { JouleError } from '../../errors';
import { isRunDirectory } from './run-dir';

/** Run directories, sweep directories (their run subdirectories) and trace files, in the order given. */
export function expandTracePaths(paths: string[]): string[] {
  const out: string[] = [];
  for (const p of paths) {
    if (!fs.existsSync(p)) throw new JouleError('JOULE_BAD_ARGUMENT', `no such run, sweep or trace: ${p}`);
    if (!fs.statSync(p).isDirectory() || isRunDirectory(p)) {
      // `logs/*.csv` also matches the epochs files beside the traces: those are read with their trace.
      if (!/\.epochs\.csv$/i.test(p)) out.push(p);
      continue;
    }
    // A sweep keeps its runs in runs/<point>/ (src/experiments); a folder of runs holds them directly.
    const children = (d: string) => fs.readdirSync(d).map((c) => path.join(d, c)).filter((c) => fs.statSync(c).isDirectory());
    const runs = [...children(p), ...children(p).flatMap(children)].filter(isRunDirectory).sort();
    if (runs.length === 0) throw new JouleError('JOULE_BAD_ARGUMENT', `${p}: neither a run directory nor a sweep of them (no run.json, power.jsonl, node-power.jsonl or epochs.jsonl found)`);
    out.push(...runs);
  }
  return out;
}

/** A trace file's epochs file by convention: `<name>.epochs.csv` beside `<name>.csv`. */
export function besideEpochs(file: string): string | undefined {
  if (!fs.existsSync(file) || !fs.statSync(file).isFile()) return undefined;
  const candidate = file.replace(/\.csv$/i, '') + '.epochs.csv';
  return candidate !== file && fs.existsSync(candidate) ? candidate : undefined;
}
