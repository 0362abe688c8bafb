// The sweep directory: sweep.json (the plan and where each point's run directory is) and the status of every point, read from the runs themselves.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { JouleError } from '../errors';
import type { SweepPoint, SweepSpec } from './sweep-grid';

export const SWEEP_FILE = 'sweep.json';

export interface SweepIndex {
  schema: 'joule.sweep/1';
  name: string;
  createdAt: string;
  profile: string;
  spec: SweepSpec;
  points: (SweepPoint & { runDir: string })[];
  /** Job arrays that ran points of this sweep. */
  submissions: { jobId: string; at: string; indexes: number[] }[];
}

export type PointStatus = 'pending' | 'running' | 'succeeded' | 'failed' | 'terminated' | 'interrupted';

export interface PointState {
  point: SweepIndex['points'][number];
  status: PointStatus;
  runDir: string;
  durationS: number | null;
  exitCode: number | null;
  /** run.json's failure message, when the run failed. */
  message: string | null;
}

/** Writes a JSON file whole through a temporary file and a rename, so a crash leaves the old or the new one. */
export function writeJsonAtomic(file: string, value: unknown): void {
  const temp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
  const fd = fs.openSync(temp, 'w', 0o644);
  try {
    fs.writeSync(fd, `${JSON.stringify(value, null, 2)}\n`);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(temp, file);
}

export function isSweepDir(dir: string): boolean {
  return fs.existsSync(path.join(dir, SWEEP_FILE));
}

export function readSweep(dir: string): SweepIndex {
  const file = path.join(dir, SWEEP_FILE);
  let index: SweepIndex;
  try {
    index = JSON.parse(fs.readFileSync(file, 'utf8')) as SweepIndex;
  } catch (error) {
    throw new JouleError('JOULE_BAD_ARGUMENT', `${dir} is not a sweep directory (cannot read ${SWEEP_FILE}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`, { dir });
  }
  if (index.schema !== 'joule.sweep/1') throw new JouleError('JOULE_BAD_ARGUMENT', `${file} has schema ${JSON.stringify(index.schema)}, expected joule.sweep/1`, { file });
  return index;
}

export function createSweep(dir: string, fields: Omit<SweepIndex, 'schema' | 'createdAt' | 'points' | 'submissions'>, points: SweepPoint[]): SweepIndex {
  if (isSweepDir(dir)) throw new JouleError('JOULE_BAD_ARGUMENT', `${dir} already holds a sweep; continue it with joule sweep --resume ${dir}`, { dir });
  fs.mkdirSync(path.join(dir, 'runs'), { recursive: true, mode: 0o755 });
  const index: SweepIndex = {
    schema: 'joule.sweep/1',
    createdAt: new Date().toISOString(),
    ...fields,
    points: points.map((point) => ({ ...point, runDir: path.join('runs', point.id) })),
    submissions: [],
  };
  writeJsonAtomic(path.join(dir, SWEEP_FILE), index);
  return index;
}

/** A point's state from its run directory's run.json: the run record is the truth, sweep.json only the plan. */
export function pointState(dir: string, point: SweepIndex['points'][number]): PointState {
  const runDir = path.resolve(dir, point.runDir);
  const state: PointState = { point, status: 'pending', runDir, durationS: null, exitCode: null, message: null };
  let manifest: { status?: string; durationS?: number | null; exitCode?: number | null; failure?: { message?: string } | null; launcher?: { pid?: number; host?: string } };
  try {
    manifest = JSON.parse(fs.readFileSync(path.join(runDir, 'run.json'), 'utf8'));
  } catch {
    // No record: the run never started, died before writing one, or the launcher refused to start it.
    const exit = readExit(dir, point.id);
    if (exit) return { ...state, status: 'failed', exitCode: exit.exitCode, message: exit.message };
    return fs.existsSync(runDir) ? { ...state, status: 'interrupted' } : state;
  }
  state.durationS = manifest.durationS ?? null;
  state.exitCode = manifest.exitCode ?? null;
  state.message = manifest.failure?.message ?? null;
  if (manifest.status === 'succeeded' || manifest.status === 'failed' || manifest.status === 'terminated') state.status = manifest.status;
  // "running" in a record whose launcher is gone means the launcher itself was killed.
  else state.status = launcherAlive(manifest.launcher) ? 'running' : 'interrupted';
  return state;
}

/** logs/<id>.exit.json: how the point's process ended, for runs that never wrote a run.json. */
export function exitFile(dir: string, id: string): string {
  return path.join(dir, 'logs', `${id}.exit.json`);
}

function readExit(dir: string, id: string): { exitCode: number; message: string | null } | null {
  try {
    return JSON.parse(fs.readFileSync(exitFile(dir, id), 'utf8'));
  } catch {
    return null;
  }
}

function launcherAlive(launcher: { pid?: number; host?: string } | undefined): boolean {
  if (!launcher?.pid) return false;
  // Only a launcher on this host can be checked; elsewhere (another node of a job array) trust the record.
  if (launcher.host && launcher.host !== os.hostname().split('.')[0]) return true;
  try {
    process.kill(launcher.pid, 0);
    return true;
  } catch {
    return false;
  }
}

export function sweepStates(dir: string, index: SweepIndex = readSweep(dir)): PointState[] {
  return index.points.map((point) => pointState(dir, point));
}

/** Moves a run directory left by an interrupted attempt aside (kept as evidence) so the point can run again. */
export function setAsideAttempt(state: PointState): string | null {
  if (!fs.existsSync(state.runDir)) return null;
  const attempts = path.join(path.dirname(path.dirname(state.runDir)), 'attempts');
  fs.mkdirSync(attempts, { recursive: true, mode: 0o755 });
  let target = path.join(attempts, `${state.point.id}-1`);
  for (let i = 2; fs.existsSync(target); i++) target = path.join(attempts, `${state.point.id}-${i}`);
  fs.renameSync(state.runDir, target);
  return target;
}

/** Forgets how an earlier attempt ended, before the point runs again. */
export function clearExit(dir: string, id: string): void {
  fs.rmSync(exitFile(dir, id), { force: true });
}
