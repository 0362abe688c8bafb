// `joule launch`: host the coordinator, start the ranks (child processes, or srun inside an allocation),
// supervise them, and leave a run directory whatever happens.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import type { Readable } from 'node:stream';
import os from 'node:os';
import path from 'node:path';
import { dialableAddress, nodeFacingAddress } from '../src/coord/address';
import { failureExitCode, failureStatus } from '../src/coord/failure';
import type { FailureInfo } from '../src/coord/protocol';
import { checkJobSecret, newJobSecret, SECRET_ENV } from '../src/coord/security';
import type { Coordinator } from '../src/coord/server';
import { JouleError } from '../src/errors';
import { linkLastRun, makeFreshRunDir } from '../src/report/run-dir';
import { packageRoot } from '../src/paths';
import type { RunJournal, RunStatus } from '../src/report/journal';
import type { RunHost } from '../src/world/host';
import { chooseGpuBinding, jobGpusOfNode } from '../src/world/gpu';
import { checkEnv, envDefault, readEnv, userEnvNames } from '../src/env';
import { exceptionLine, prefixLines, relabelSrunLines, StderrTails } from './output';
import { ACTIVITY_FD, ActivityChannel } from './activity';
import { startNodePower } from './node-power';
import { slurmEndingState } from './slurm-ended';
import type { ClusterProfile } from '../src/slurm/profile';
import type { EnergyTotals } from '../src/power/attribution';
import { energyProfileFrom } from '../src/power/profile';
import { checkCommand, checkRankCount } from './preflight';
import { StopSignals } from './signals';
import { reservePort } from './port-reservation';

export interface LaunchOptions {
  command: string[];
  /** Ranks; under srun, undefined means SLURM_NTASKS. */
  size?: number;
  name?: string;
  /** The exact run directory; default runs/<UTC time>-<name> under the current directory. */
  runDir?: string;
  profile: ClusterProfile;
  launcher: 'local' | 'srun' | 'auto';
  secure: boolean;
  iface?: string;
  heartbeatS: number;
  heartbeatMisses: number;
  joinTimeoutS: number;
  /** Seconds of idle power every rank measures before the run (--idle-baseline). */
  idleBaselineS?: number;
  /** Seconds ranks get to leave after an abort before SIGTERM, then SIGKILL after as long again. */
  abortGraceS: number;
  /** Local launcher: start more than RANKS_PER_CPU_LIMIT ranks per CPU (launch/preflight.ts). */
  oversubscribe?: boolean;
  /** Seconds a rank that called finalize gets to exit before the launcher ends it (local launcher). */
  exitGraceS?: number;
  /**
   * Local launcher only: give the ranks node ids as if they sat on this many nodes (block distribution, as
   * srun's default), so hierarchical collectives can be tested and measured on one host.
   */
  pretendNodes?: number;
  /** Rank output and launcher messages. */
  out(text: string): void;
  err(text: string): void;
}

export interface LaunchResult {
  runDir: string;
  runId: string;
  status: RunStatus;
  exitCode: number;
  failure: (FailureInfo & { message: string }) | null;
  durationS: number;
  /** The run's energy totals (run.json has them by node and rank); null when no rank measured. */
  energy: EnergyTotals | null;
}

function timestamp(date: Date): string {
  return date.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
}

/** Options of interpreters whose value is code or a module, not the script that names the run. */
const VALUE_OPTIONS = new Set(['-e', '--eval', '-p', '--print', '-c', '-r', '--require', '--import', '-m']);

/** The run's name from its command: the script's base name (e.g. train for `node train.js`), else the program's; short and plain. */
export function defaultName(command: string[]): string {
  const script = command.find((arg, i) => i > 0 && !arg.startsWith('-') && !VALUE_OPTIONS.has(command[i - 1]) && /^[\w@+.,/-]+$/.test(arg)) ?? command[0];
  const name = path.basename(script).replace(/\.[^.]+$/, '').replace(/[^A-Za-z0-9_.-]/g, '_').slice(0, 32);
  return /^[A-Za-z0-9]/.test(name) ? name : 'run';
}

function uniqueDir(base: string): string {
  let dir = base;
  for (let i = 2; fs.existsSync(dir); i++) dir = `${base}-${i}`;
  return dir;
}

export function insideAllocation(env: NodeJS.ProcessEnv = process.env): boolean {
  return Boolean(env.SLURM_JOB_ID) && readEnv('JOULE_LAUNCHER', env) === undefined;
}

/** Seconds ranks get after SIGTERM/SIGINT reach the launcher, as SLURM's default KillWait gives them before SIGKILL. */
const STOP_GRACE_S = 30;

/** Terminal signals by name, for reporting and 128+N exit codes. */
function signalExitCode(signal: NodeJS.Signals): number {
  return 128 + (os.constants.signals[signal] ?? 0);
}

export async function launch(options: LaunchOptions): Promise<LaunchResult> {
  if (options.command.length === 0) throw new JouleError('JOULE_BAD_ARGUMENT', 'no command to launch: put it after `--`');
  checkEnv(userEnvNames);
  const useSrun = options.launcher === 'srun' || (options.launcher === 'auto' && insideAllocation());
  const size = options.size ?? (useSrun ? Number(process.env.SLURM_NTASKS) : NaN);
  if (!Number.isSafeInteger(size) || size < 1) throw new JouleError('JOULE_BAD_ARGUMENT', `-n must be a positive integer${useSrun ? ' (SLURM_NTASKS is not set either)' : ''}`);
  const pretendNodes = options.pretendNodes ?? 1;
  if (!Number.isSafeInteger(pretendNodes) || pretendNodes < 1 || pretendNodes > size) throw new JouleError('JOULE_BAD_ARGUMENT', `--pretend-nodes must be an integer from 1 to the rank count (${size}), got ${options.pretendNodes}`);
  if (useSrun && pretendNodes > 1) throw new JouleError('JOULE_BAD_ARGUMENT', '--pretend-nodes is for the local launcher; under srun the nodes are real');

  if (!useSrun) {
    const warning = checkRankCount(size, options.oversubscribe ?? false);
    if (warning) options.err(`joule: warning: ${warning}\n`);
    checkCommand(options.command[0]);
  }
  // From here on a signal stops the job cleanly, even before any rank is started.
  const stop = new StopSignals();

  const started = new Date();
  const name = options.name ?? defaultName(options.command);
  const runDir = makeFreshRunDir(options.runDir ?? uniqueDir(path.join('runs', `${timestamp(started)}-${name}`)));
  if (options.runDir === undefined) linkLastRun(path.dirname(runDir), path.basename(runDir));
  const runId = path.basename(runDir);
  // A job script (slurm/templates/) makes the job's secret inside the job; use it rather than a second one.
  const given = readEnv('JOULE_JOB_SECRET');
  const secret = given ? checkJobSecret(given, 'joule launch') : newJobSecret();
  const host = os.hostname();

  const bindHost = useSrun ? await nodeFacingAddress(options.iface, host) : '127.0.0.1';
  // The ranks start first, on a reserved port, and boot while the coordinator and the run journal are set up.
  const reservation = await reservePort(bindHost);
  const coordAddress = `tcp://${useSrun ? await dialableAddress(bindHost, host) : '127.0.0.1'}:${reservation.port}`;
  const baseEnv: NodeJS.ProcessEnv = {
    ...process.env,
    ...(options.profile.env ?? {}),
    [SECRET_ENV]: secret,
    JOULE_COORD: coordAddress,
    JOULE_RUN_DIR: runDir,
    JOULE_RUN_ID: runId,
    JOULE_HEARTBEAT_S: String(options.heartbeatS),
    JOULE_HEARTBEAT_MISSES: String(options.heartbeatMisses),
    JOULE_JOIN_TIMEOUT_S: String(options.joinTimeoutS),
    JOULE_SECURE: options.secure ? '1' : '0',
    JOULE_ENERGY_PROFILE: JSON.stringify(energyProfileFrom(options.profile)),
    ...(options.idleBaselineS ? { JOULE_IDLE_BASELINE_S: String(options.idleBaselineS) } : {}),
    ...(options.iface ? { JOULE_IFACE: options.iface } : {}),
  };

  // Each rank's last stderr lines, for run.json's failure (the console gets every line as before).
  const tails = new StderrTails();
  const rankErr = (text: string) => {
    tails.add(text);
    options.err(text);
  };
  const supervisor = new Supervision({ ...options, err: rankErr });
  stop.listen((signal) => supervisor.signalled(signal));
  const ranksEnded = (useSrun ? supervisor.runSrun(size, baseEnv) : supervisor.runLocal(size, pretendNodes, baseEnv, host)).finally(() => stop.dispose());

  let hosted: RunHost;
  try {
    // Loaded once the ranks are started: the coordinator and the journal (ZeroMQ, msgpackr) are off the start path.
    const { hostRun } = require('../src/world/host') as typeof import('../src/world/host');
    hosted = await hostRun({
      runId,
      runDir,
      name,
      command: options.command,
      profile: options.profile as unknown as Record<string, unknown>,
      config: {
        size,
        secure: options.secure,
        iface: options.iface ?? null,
        heartbeatS: options.heartbeatS,
        heartbeatMisses: options.heartbeatMisses,
        joinTimeoutS: options.joinTimeoutS,
        abortGraceS: options.abortGraceS,
        pretendNodes,
      },
      launcher: { mode: useSrun ? 'srun' : 'local', host, pid: process.pid },
      secret,
      bindHost,
      port: reservation.port,
      releasePort: reservation.release,
      print: (line, stream) => (stream === 'stdout' ? options.out : options.err)(`${line}\n`),
    });
  } catch (error) {
    // No coordinator, so no job: the ranks started for it are killed.
    reservation.release();
    await supervisor.abandon(ranksEnded);
    throw error;
  }
  const { coordinator } = hosted;
  const journal = hosted.journal as RunJournal; // a launcher always keeps a record
  hosted.announce(coordAddress);
  coordinator.onFailure((failure, message) => supervisor.failed(failure, message));
  journal.onEvent((type, fields) => {
    if (type === 'rank-finalized' && typeof fields.rank === 'number') supervisor.finalized(fields.rank);
  });
  supervisor.attach(coordinator, journal);
  // Energy of any command: this node's sampler, once every rank is started (under srun, each node's first supervisor's).
  const nodePower =
    !useSrun && readEnv('JOULE_POWER') === 'on'
      ? supervisor.started.then(() => {
          const sink = (stream: string, record: Record<string, unknown>) => journal.records(0, [{ k: 'stream', time: Date.now(), stream, record }]);
          return startNodePower({ host, rank: 0, gpus: jobGpusOfNode(baseEnv), profile: energyProfileFrom(options.profile), sink, warn: (message) => journal.warn(message) });
        })
      : undefined;
  await ranksEnded;
  // Every rank has ended and been waited for: the sampler's record now holds their CPU time too.
  await (await nodePower)?.stop(true).catch((error: Error) => journal.warn(`the node's power sampler failed: ${error.message}`));

  const failure = journal.manifest.failure;
  let status: RunStatus = 'succeeded';
  let exitCode = 0;
  // Under SLURM, scancel and the time limit signal the ranks' step and the launcher together.
  const slurmState = useSrun && !supervisor.signal && coordinator.failure ? await slurmEndingState(process.env.SLURM_JOB_ID) : null;
  if (supervisor.signal) {
    status = 'terminated';
    exitCode = signalExitCode(supervisor.signal);
  } else if (slurmState) {
    status = 'terminated';
    exitCode = signalExitCode('SIGTERM');
    options.err(`joule: SLURM ended the job (JobState=${slurmState})\n`);
  } else if (coordinator.failure) {
    // Ranks killed by SIGTERM (scancel and the time limit signal every task, maybe before the launcher).
    status = failureStatus(coordinator.failure);
    exitCode = failureExitCode(coordinator.failure);
  }
  await coordinator.close();
  if (failure && failure.rank >= 0) journal.failureOutput(failure.rank, tails.of(failure.rank), exceptionLine(tails.of(failure.rank)));
  await journal.finish(status, exitCode);
  return { runDir, runId, status, exitCode, failure, durationS: journal.manifest.durationS ?? 0, energy: journal.manifest.energy?.totals ?? null };
}

/**
 * Starts and watches the rank processes; turns exits and signals into coordinator failures. Ranks start
 * before the coordinator listens: what they do until attach() (exits, start records) waits for it.
 */
class Supervision {
  signal?: NodeJS.Signals;
  private readonly children = new Set<ChildProcess>();
  /** Local ranks by number, and those the launcher ended after they finalized without exiting. */
  private readonly byRank = new Map<number, ChildProcess>();
  private readonly endedAfterFinalize = new Set<number>();
  private coordinator?: Coordinator;
  /** Resolves with the coordinator and the journal once they exist; with undefined when they never will. */
  private readonly host: Promise<{ coordinator: Coordinator; journal: RunJournal } | undefined>;
  private settleHost!: (host: { coordinator: Coordinator; journal: RunJournal } | undefined) => void;
  /** Resolves once every local rank is started. */
  readonly started: Promise<void>;
  private allStarted!: () => void;
  private killTimers: NodeJS.Timeout[] = [];

  constructor(private readonly options: LaunchOptions) {
    this.host = new Promise((resolve) => (this.settleHost = resolve));
    this.started = new Promise((resolve) => (this.allStarted = resolve));
  }

  attach(coordinator: Coordinator, journal: RunJournal): void {
    this.coordinator = coordinator;
    this.settleHost({ coordinator, journal });
  }

  /** Without a coordinator there is no job: kills the ranks and waits for them. */
  async abandon(ranksEnded: Promise<void>): Promise<void> {
    this.settleHost(undefined);
    this.killAll('SIGKILL');
    await ranksEnded;
  }

  /** Writes an event into the run record once there is one. */
  private record(type: string, fields: Record<string, unknown>): void {
    void this.host.then((host) => host?.journal.event(type, fields));
  }

  /** Hands a rank's (or srun's) end to the coordinator once it listens. */
  private async toCoordinator(report: (coordinator: Coordinator) => void): Promise<void> {
    const host = await this.host;
    if (host) report(host.coordinator);
  }

  failed(failure: FailureInfo, message: string): void {
    if (failure.kind !== 'terminated') this.options.err(`joule: job ${failureStatus(failure) === 'terminated' ? 'stopped' : 'failed'}: ${message}\n`);
    // After a stop signal ranks get SLURM's KillWait to checkpoint; after a failure the short abort grace.
    this.stopAll((this.signal ? STOP_GRACE_S : this.options.abortGraceS) * 1000);
  }

  signalled(signal: NodeJS.Signals): void {
    if (this.signal) {
      // A second signal: the user means it.
      this.killAll('SIGKILL');
      return;
    }
    this.signal = signal;
    this.options.err(`joule: received ${signal}: passing it to the ranks, which get ${STOP_GRACE_S} s to checkpoint and leave\n`);
    // As SLURM does at its time limit: the signal, no abort message, so ranks that handle it (joule train
    // checkpoints at the next step, on every rank alike) end cleanly; SIGTERM again and SIGKILL for those
    // still running after the grace.
    void this.toCoordinator((coordinator) => coordinator.fail({ rank: -1, host: os.hostname(), kind: 'terminated', reason: `the launcher received ${signal}` }, false, false));
    this.killAll(signal);
  }

  /** A rank that finalized gets exitGraceS to exit; then it is ended, by name, instead of the job waiting forever. */
  finalized(rank: number): void {
    const child = this.byRank.get(rank);
    const graceS = this.options.exitGraceS;
    if (!child || graceS === undefined) return;
    const running = () => child.exitCode === null && child.signalCode === null;
    const timer = setTimeout(() => {
      if (!running()) return;
      this.options.err(`joule: rank ${rank} (pid ${child.pid}) called finalize but had not exited ${graceS} s later: ending it\n`);
      this.endedAfterFinalize.add(rank);
      this.record('rank-ended-after-finalize', { rank, pid: child.pid, graceS });
      signalRank(child, 'SIGTERM');
      setTimeout(() => running() && signalRank(child, 'SIGKILL'), graceS * 1000).unref();
    }, graceS * 1000);
    timer.unref();
    child.once('exit', () => clearTimeout(timer));
  }

  /** After an abort: give ranks `graceMs` to leave, then SIGTERM, then SIGKILL. */
  private stopAll(graceMs: number): void {
    if (this.killTimers.length) return;
    this.killTimers.push(setTimeout(() => this.killAll('SIGTERM'), graceMs));
    this.killTimers.push(setTimeout(() => this.killAll('SIGKILL'), graceMs * 2));
    for (const timer of this.killTimers) timer.unref();
  }

  private killAll(signal: NodeJS.Signals): void {
    for (const child of this.children) {
      if (child.exitCode !== null || child.signalCode !== null || !child.pid) continue;
      signalRank(child, signal);
    }
  }

  private track(child: ChildProcess, onExit: (code: number | null, signal: NodeJS.Signals | null) => void | Promise<void>): Promise<void> {
    this.children.add(child);
    let reported: void | Promise<void>;
    return new Promise((resolve) => {
      child.on('error', (error) => {
        this.options.err(`joule: cannot start ${this.options.command[0]}: ${error.message}\n`);
        if (child.pid === undefined) onExit(127, null);
      });
      child.on('exit', (code, signal) => (reported = onExit(code, signal)));
      child.on('close', () => {
        this.children.delete(child);
        void Promise.resolve(reported).then(resolve);
      });
    });
  }

  async runLocal(size: number, nodes: number, baseEnv: NodeJS.ProcessEnv, host: string): Promise<void> {
    const [file, ...args] = this.options.command;
    const done: Promise<void>[] = [];
    const placement = blockPlacement(size, nodes);
    for (let rank = 0; rank < size && !this.signal && !this.coordinator?.failure; rank++) {
      const { nodeRank, localRank, localSize } = placement[rank];
      const gpu = chooseGpuBinding(localRank, localSize, false, baseEnv);
      const env: NodeJS.ProcessEnv = {
        ...baseEnv,
        JOULE_LAUNCHER: 'local',
        JOULE_RANK: String(rank),
        JOULE_SIZE: String(size),
        JOULE_LOCAL_RANK: String(localRank),
        JOULE_LOCAL_SIZE: String(localSize),
        JOULE_NODE_RANK: String(nodeRank),
        JOULE_NODES: String(nodes),
        JOULE_HOST: host,
        JOULE_ACTIVITY_FD: String(ACTIVITY_FD),
        ...(gpu.cudaVisibleDevices !== undefined ? { CUDA_VISIBLE_DEVICES: gpu.cudaVisibleDevices } : {}),
      };
      const child = spawn(file, args, { env, stdio: ['ignore', 'pipe', 'pipe', 'pipe'], detached: true });
      const activity = new ActivityChannel(child.stdio[ACTIVITY_FD] as Readable | null);
      const output = Promise.all([
        prefixLines(child.stdout!, `[${rank}] `, this.options.out),
        prefixLines(child.stderr!, `[${rank}] `, this.options.err),
      ]);
      this.byRank.set(rank, child);
      // What the launcher gave the rank, so the record holds it even for a command that never calls joule.init().
      this.record('rank-started', { rank, host, pid: child.pid ?? null, localRank, nodeRank, gpus: gpu.gpus, gpuBinding: gpu.rule, cudaVisibleDevices: gpu.cudaVisibleDevices ?? null });
      // Its work was done: ended for not exiting, it is not what failed the job (events.jsonl says what happened).
      const exited = this.track(child, async (code, signal) => {
        // The failure names the last activity the rank wrote, which may still be in the pipe at 'exit'.
        const last = await activity.final();
        const ended = this.endedAfterFinalize.has(rank);
        await this.toCoordinator((coordinator) => coordinator.rankExited(rank, ended ? 0 : code, ended ? null : signal, { host, pid: child.pid, activity: last }));
      });
      done.push(exited.then(() => output.then(() => undefined)));
      // Spawning is synchronous: let signals, exits and failures be handled between ranks.
      await new Promise((resolve) => setImmediate(resolve));
    }
    this.allStarted();
    await Promise.all(done);
  }

  async runSrun(size: number, baseEnv: NodeJS.ProcessEnv): Promise<void> {
    const supervisorScript = path.join(packageRoot, 'dist', 'launch', 'rank-supervisor.js');
    const args = ['--kill-on-bad-exit=1', '--label', `--ntasks=${size}`, process.execPath, supervisorScript, ...this.options.command];
    const child = spawn('srun', args, { env: { ...baseEnv, JOULE_LAUNCHER: 'srun' }, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    const output = Promise.all([relabelSrunLines(child.stdout!, this.options.out), relabelSrunLines(child.stderr!, this.options.err)]);
    this.allStarted();
    await this.track(child, (code, signal) =>
      // Each rank's supervisor reports its own exit; srun ending badly with nobody blamed is still a failure.
      this.toCoordinator((coordinator) => {
        if (coordinator.failure || (!signal && code === 0)) return;
        coordinator.fail({ rank: -1, host: os.hostname(), kind: signal ? 'signal' : 'exit', exitCode: code ?? undefined, signal: signal ?? undefined, reason: 'srun (before any rank reported its own exit)' });
      }),
    );
    await output;
  }
}

/** srun's default block distribution: the first size % nodes nodes take one rank more, in rank order. */
export function blockPlacement(size: number, nodes: number): { nodeRank: number; localRank: number; localSize: number }[] {
  const placement = [];
  for (let nodeRank = 0; nodeRank < nodes; nodeRank++) {
    const localSize = Math.floor(size / nodes) + (nodeRank < size % nodes ? 1 : 0);
    for (let localRank = 0; localRank < localSize; localRank++) placement.push({ nodeRank, localRank, localSize });
  }
  return placement;
}

/** Signals a rank's whole process group (each rank leads one, so wrappers like bash -c or npx take their children along). */
function signalRank(child: ChildProcess, signal: NodeJS.Signals): void {
  try {
    process.kill(-child.pid!, signal);
  } catch {
    child.kill(signal);
  }
}

export const launchDefaults = {
  heartbeatS: envDefault('JOULE_HEARTBEAT_S'),
  heartbeatMisses: envDefault('JOULE_HEARTBEAT_MISSES'),
  joinTimeoutS: envDefault('JOULE_JOIN_TIMEOUT_S'),
  abortGraceS: 1.5,
  exitGraceS: 10,
};

