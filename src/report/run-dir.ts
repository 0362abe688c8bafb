// Making a run directory: a fresh one per run (never two runs mixed in one), coded errors for paths that
// cannot hold one, and `runs/last` pointing at the latest default one.
import fs from 'node:fs';
import path from 'node:path';
import { JouleError } from '../errors';

/**
 * Creates `dir` (0755) and its missing parents one level at a time (Node's recursive mkdir loops forever
 * under /proc), refusing a folder that already holds anything: a reused run directory would mix two runs.
 */
export function makeFreshRunDir(dir: string): string {
  const target = path.resolve(dir);
  const cannot = (why: string, code?: string) => new JouleError('JOULE_BAD_ARGUMENT', `cannot use ${target} as the run directory: ${why}`, { path: target, ...(code ? { libraryError: code } : {}) });
  const missing: string[] = [];
  let existing = target;
  while (!fs.existsSync(existing)) {
    missing.unshift(existing);
    existing = path.dirname(existing);
  }
  if (!fs.statSync(existing).isDirectory()) throw cannot(`${existing} is a file, not a folder`);
  if (missing.length === 0 && fs.readdirSync(target).length > 0) {
    throw cannot(`it already holds ${fs.existsSync(path.join(target, 'run.json')) ? 'a run (run.json)' : 'files'}; a run directory holds one run: give a new --run-dir or leave it out`);
  }
  for (const folder of missing) {
    try {
      fs.mkdirSync(folder, { mode: 0o755 });
    } catch (error) {
      const { code, message } = error as NodeJS.ErrnoException;
      if (code !== 'EEXIST') throw cannot(message, code);
    }
  }
  return target;
}

/** Points `<runs>/last` at `runId` (replaced atomically); best effort, since the run does not depend on it. */
export function linkLastRun(runsDir: string, runId: string): void {
  const temp = path.join(runsDir, `.last.${process.pid}`);
  try {
    fs.rmSync(temp, { force: true });
    fs.symlinkSync(runId, temp);
    fs.renameSync(temp, path.join(runsDir, 'last'));
  } catch {
    fs.rmSync(temp, { force: true });
  }
}
