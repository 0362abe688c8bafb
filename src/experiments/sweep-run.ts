// Running a sweep: points one after another on this host (progress, ETA, resume, power limits), or one job-array task per point under SLURM.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { JouleError } from '../errors';
import { renderJob, submitJob } from '../slurm/sbatch';
import { pointArgv, type SweepPoint } from './sweep-grid';
import { clearExit, exitFile, pointState, readSweep, setAsideAttempt, sweepStates, writeJsonAtomic, SWEEP_FILE, type PointState, type SweepIndex } from './sweep-dir';
import { restorePowerLimits, withPowerLimit } from './power-limit';

export interface SweepProgress {
  done: number;
  failed: number;
  left: number;
  total: number;
  etaS: number | null;
  current: string | null;
}

export interface SweepOutcome {
  dir: string;
  succeeded: string[];
  failed: { id: string; status: PointStatusFailed; exitCode: number | null; message: string | null; runDir: string }[];
  pending: string[];
  ranNow: string[];
}
type PointStatusFailed = 'failed' | 'terminated' | 'interrupted';

/** Runs one point as a child process (joule launch or joule train) into its run directory; output goes to logs/<id>.log. */
function runPoint(dir: string, index: SweepIndex, point: SweepIndex['points'][number], signal: { child?: ReturnType<typeof spawn> }): Promise<number> {
  const runDir = path.resolve(dir, point.runDir);
  const argv = pointArgv(point as SweepPoint, { runDir, profile: index.profile, name: point.id.slice(0, 64) });
  fs.mkdirSync(path.join(dir, 'logs'), { recursive: true, mode: 0o755 });
  const log = fs.openSync(path.join(dir, 'logs', `${point.id}.log`), 'a', 0o644);
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0], argv.slice(1), { stdio: ['ignore', log, log], cwd: dir });
    signal.child = child;
    child.on('error', reject);
    child.on('close', (code, sig) => {
      fs.closeSync(log);
      signal.child = undefined;
      const exitCode = code ?? 128;
      if (!fs.existsSync(path.join(runDir, 'run.json'))) {
        // The launcher refused or died before writing a record: keep its last words for the failure list.
        const lines = fs.readFileSync(path.join(dir, 'logs', `${point.id}.log`), 'utf8').trim().split('\n');
        writeJsonAtomic(exitFile(dir, point.id), { exitCode, signal: sig, message: lines[lines.length - 1] || null, at: new Date().toISOString() });
      }
      resolve(exitCode);
    });
  });
}

function summarize(dir: string, states: PointState[], ranNow: string[]): SweepOutcome {
  return {
    dir,
    succeeded: states.filter((s) => s.status === 'succeeded').map((s) => s.point.id),
    failed: states
      .filter((s): s is PointState & { status: PointStatusFailed } => s.status === 'failed' || s.status === 'terminated' || s.status === 'interrupted')
      .map((s) => ({ id: s.point.id, status: s.status, exitCode: s.exitCode, message: s.message, runDir: s.runDir })),
    pending: states.filter((s) => s.status === 'pending' || s.status === 'running').map((s) => s.point.id),
    ranNow,
  };
}

export interface LocalRunOptions {
  /** Run points whose earlier attempt failed too (default: list them, run only pending and interrupted ones). */
  retryFailed?: boolean;
  /** Only this point (a job-array task). */
  only?: number;
  progress?(progress: SweepProgress): void;
}

/**
 * Runs every point not yet succeeded, one after another. SIGINT/SIGTERM stop the running point (its
 * launcher terminates the ranks), restore any power limit, and end the sweep; `--resume` continues it.
 */
export async function runSweepLocally(dir: string, options: LocalRunOptions = {}): Promise<SweepOutcome> {
  const index = readSweep(dir);
  // A sweep that died with a power limit set owes the GPUs their limits before anything else runs.
  await restorePowerLimits(dir);
  const states = sweepStates(dir, index);
  const todo = states.filter((state) => {
    if (options.only !== undefined) return state.point.index === options.only && state.status !== 'succeeded';
    // A terminated run was stopped (by a signal, scancel or the time limit), not finished: it runs again.
    return state.status === 'pending' || state.status === 'interrupted' || state.status === 'terminated' || (options.retryFailed && state.status === 'failed');
  });
  if (options.only !== undefined && !index.points[options.only]) {
    throw new JouleError('JOULE_BAD_ARGUMENT', `--array-task ${options.only}: the sweep has points 0-${index.points.length - 1}`);
  }
  const running = { child: undefined as ReturnType<typeof spawn> | undefined, stopped: null as NodeJS.Signals | null };
  const onSignal = (name: NodeJS.Signals) => {
    running.stopped = name;
    running.child?.kill(name);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const ranNow: string[] = [];
  const started = Date.now();
  let done = states.filter((s) => s.status === 'succeeded').length;
  let failed = options.retryFailed ? 0 : states.filter((s) => s.status === 'failed').length;
  try {
    for (const [i, state] of todo.entries()) {
      if (running.stopped) break;
      const elapsedS = (Date.now() - started) / 1000;
      options.progress?.({ done, failed, left: todo.length - i, total: states.length, etaS: i > 0 ? (elapsedS / i) * (todo.length - i) : null, current: state.point.id });
      setAsideAttempt(state);
      clearExit(dir, state.point.id);
      await withPowerLimit(dir, state.point.powerLimitW, () => runPoint(dir, index, state.point, running));
      ranNow.push(state.point.id);
      if (pointState(dir, state.point).status === 'succeeded') done++;
      else failed++;
    }
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  options.progress?.({ done, failed, left: states.length - done - failed, total: states.length, etaS: 0, current: null });
  const outcome = summarize(dir, sweepStates(dir, index), ranNow);
  if (running.stopped) {
    throw new JouleError('JOULE_ABORTED', `sweep stopped by ${running.stopped} after ${ranNow.length} run(s): ${outcome.succeeded.length} succeeded, ${outcome.pending.length + outcome.failed.filter((f) => f.status === 'interrupted').length} left; continue with joule sweep --resume ${dir}`, { outcome });
  }
  return outcome;
}

export function sweepOutcome(dir: string): SweepOutcome {
  return summarize(dir, sweepStates(dir), []);
}

export interface SubmitOptions {
  nodes?: number;
  ntasksPerNode?: number;
  time?: string;
  partition?: string;
  account?: string;
  /** At most this many array tasks at once (sbatch --array=...%N). */
  parallel?: number;
  wait?: boolean;
  dryRun?: boolean;
  output?: string;
  env?: NodeJS.ProcessEnv;
  onSubmitted?(jobId: string): void;
}

/** Submits the points not yet succeeded as one job array (task i = point i) with the sweep template. */
export async function submitSweep(dir: string, options: SubmitOptions): Promise<{ jobId: string | null; exitCode: number | null; indexes: number[]; script: string }> {
  const index = readSweep(dir);
  const indexes = sweepStates(dir, index).filter((s) => s.status !== 'succeeded').map((s) => s.point.index);
  if (indexes.length === 0) throw new JouleError('JOULE_BAD_ARGUMENT', `every point of ${dir} has succeeded; nothing to submit`);
  if (index.points.some((p) => p.powerLimitW !== null) && (options.nodes ?? 1) > 1) {
    throw new JouleError('JOULE_BAD_ARGUMENT', 'a power-limit dimension is set on the batch host only: submit power-limit sweeps with -N 1');
  }
  const { script } = renderJob({
    profile: index.profile,
    template: 'sweep',
    command: [path.resolve(dir)],
    name: index.name.slice(0, 64),
    nodes: options.nodes,
    ntasksPerNode: options.ntasksPerNode,
    time: options.time,
    partition: options.partition,
    account: options.account,
    output: options.output ?? path.join(path.resolve(dir), 'logs', 'array-%A_%a.out'),
    array: `${indexes.join(',')}${options.parallel ? `%${options.parallel}` : ''}`,
  });
  if (options.dryRun) return { jobId: null, exitCode: null, indexes, script };
  fs.mkdirSync(path.join(dir, 'logs'), { recursive: true, mode: 0o755 });
  const result = await submitJob(script, {
    wait: options.wait,
    env: options.env,
    onSubmitted: (jobId) => {
      // Recorded at once, so a sweep whose submitter is interrupted still says which job runs it.
      const current = readSweep(dir);
      current.submissions.push({ jobId, at: new Date().toISOString(), indexes });
      writeJsonAtomic(path.join(dir, SWEEP_FILE), current);
      options.onSubmitted?.(jobId);
    },
  });
  return { jobId: result.jobId, exitCode: result.exitCode, indexes, script };
}
