// What `joule launch` checks before it makes a run directory or starts a rank: the command exists, and
// this node can hold the ranks asked for.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { JouleError } from '../src/errors';

/** Ranks per allowed CPU above which the local launcher refuses without --oversubscribe. */
export const RANKS_PER_CPU_LIMIT = 4;

/**
 * Refuses more local ranks than RANKS_PER_CPU_LIMIT per allowed CPU unless `oversubscribe`, and
 * returns a warning when ranks will share CPUs (undefined when they will not).
 */
export function checkRankCount(size: number, oversubscribe: boolean, cpus: number = os.availableParallelism()): string | undefined {
  const limit = RANKS_PER_CPU_LIMIT * cpus;
  if (size > limit && !oversubscribe) {
    throw new JouleError('JOULE_BAD_ARGUMENT', `-n ${size}: this node allows ${cpus} CPU(s) and the local launcher starts at most ${limit} ranks (${RANKS_PER_CPU_LIMIT} per CPU); add --oversubscribe to start them anyway`, { ranks: size, cpus, limit });
  }
  if (size > cpus) return `${size} ranks on ${cpus} allowed CPU(s): ranks share CPUs, so timings and energy per rank are not those of a rank per CPU`;
  return undefined;
}

function executable(file: string): boolean {
  try {
    const stat = fs.statSync(file);
    fs.accessSync(file, fs.constants.X_OK);
    return stat.isFile();
  } catch {
    return false;
  }
}

/** Refuses a rank command that cannot be started here: a path that is not an executable file, or a name not on PATH. */
export function checkCommand(file: string, env: NodeJS.ProcessEnv = process.env): void {
  if (file.includes('/')) {
    if (!executable(file)) throw new JouleError('JOULE_BAD_ARGUMENT', `cannot start ${file}: ${fs.existsSync(file) ? 'not an executable file' : 'no such file'}`, { command: file });
    return;
  }
  const dirs = (env.PATH ?? '').split(path.delimiter).filter(Boolean);
  if (!dirs.some((dir) => executable(path.join(dir, file)))) {
    throw new JouleError('JOULE_BAD_ARGUMENT', `cannot start ${file}: not found on PATH (put the rank command after \`--\`, e.g. joule launch -n 2 -- node train.js)`, { command: file });
  }
}
