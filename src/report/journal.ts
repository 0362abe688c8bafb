// The run's journal: keeps run.json current as the coordinator reports joins, exits and failures, and
// routes rank logs, metrics and streams into the run directory.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { CoordinatorSink } from '../coord/server';
import type { BatchItem, FailureInfo } from '../coord/protocol';
import { packageRoot, packageVersion } from '../paths';
import { gitCommit } from './git';
import { checkStreamName, RunRecorder } from './run-record';
import type { Attribution } from '../power/attribution';
import { defaultEnergyProfile, energyProfileFrom } from '../power/profile';
import { energySummary, readRecords } from '../power/records';
import type { ClusterProfile } from '../slurm/profile';

export type RunStatus = 'running' | 'succeeded' | 'failed' | 'terminated';

export interface RankRecord {
  rank: number;
  host?: string;
  pid?: number;
  localRank?: number;
  nodeRank?: number;
  gpus?: number[];
  gpuBinding?: string;
  cudaVisibleDevices?: string | null;
  cpus?: number[];
  cpuBinding?: string;
  /** Why the rank is bound (or not) as it is, in words. */
  cpuBindingReason?: string;
  /** starting -> joined -> finalized -> exited; failed for the rank that brought the job down; aborted for the others. */
  state: 'starting' | 'joined' | 'finalized' | 'exited' | 'failed' | 'aborted';
  exitCode?: number | null;
  signal?: string | null;
  joinedAt?: string;
  endedAt?: string;
  /** The rank process's CPU seconds, when its srun-side supervisor reported them with its exit. */
  cpuTimeS?: number;
}

export interface RunManifest {
  schema: 'joule.run/1';
  runId: string;
  name: string;
  status: RunStatus;
  command: string[];
  cwd: string;
  profile: Record<string, unknown> | null;
  config: Record<string, unknown>;
  launcher: Record<string, unknown>;
  size: number;
  hosts: string[];
  ranks: RankRecord[];
  gpuBinding: { rules: string[] };
  versions: Record<string, string>;
  git: { cwd: string | null; joule: string | null };
  environment: Record<string, string>;
  startedAt: string;
  endedAt: string | null;
  durationS: number | null;
  exitCode: number | null;
  /** The failure; for a rank that died, its exception line and last stderr lines when the launcher saw them. */
  failure: (FailureInfo & { message: string; exception?: string; stderrTail?: string[] }) | null;
  streams: string[];
  /** Energy by node and rank with the run's totals, from power.jsonl when the run ends (src/power). */
  energy: Attribution | null;
  /** Frames the coordinator dropped as malformed or unauthenticated. */
  droppedFrames: number;
}

// Only these reach run.json, and never a name that looks like it holds a credential.
const KEPT_PREFIXES = ['SLURM_', 'JOULE_', 'CUDA_', 'NCCL_', 'OMP_', 'UCX_', 'NVIDIA_'];
const KEPT_NAMES = ['HOSTNAME', 'USER', 'PATH', 'LD_LIBRARY_PATH', 'NODE_OPTIONS'];
const SECRET_LIKE = /SECRET|TOKEN|PASSWORD|PASSWD|KEY|CREDENTIAL|AUTH/i;

export function environmentSummary(env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const kept: Record<string, string> = {};
  for (const [name, value] of Object.entries(env).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    if (value === undefined || SECRET_LIKE.test(name)) continue;
    if (KEPT_NAMES.includes(name) || KEPT_PREFIXES.some((prefix) => name.startsWith(prefix))) kept[name] = value;
  }
  return kept;
}


export function versionSummary(): Record<string, string> {
  return {
    joule: packageVersion,
    node: process.version,
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    zeromq: requireVersion('zeromq'),
    msgpackr: requireVersion('msgpackr'),
  };
}

function requireVersion(name: string): string {
  // Some packages do not export their package.json: walk up from the entry point instead.
  try {
    let dir = path.dirname(require.resolve(name));
    for (;;) {
      const manifest = path.join(dir, 'package.json');
      if (fs.existsSync(manifest)) {
        const json = JSON.parse(fs.readFileSync(manifest, 'utf8')) as { name?: string; version?: string };
        if (json.name === name && json.version) return json.version;
      }
      const parent = path.dirname(dir);
      if (parent === dir) return 'unknown';
      dir = parent;
    }
  } catch {
    return 'unknown';
  }
}

export interface JournalOptions {
  recorder: RunRecorder;
  manifest: RunManifest;
  /** Where rank log lines and coordinator warnings are shown (the launcher's console). */
  print(line: string, stream: 'stdout' | 'stderr'): void;
}

export class RunJournal implements CoordinatorSink {
  readonly recorder: RunRecorder;
  readonly manifest: RunManifest;
  private readonly print: JournalOptions['print'];
  private readonly started = Date.now();
  /** Set by whoever hosts the coordinator, so run.json can count dropped frames. */
  droppedFrames: () => number = () => 0;
  private readonly listeners: ((type: string, fields: Record<string, unknown>) => void)[] = [];

  constructor(options: JournalOptions) {
    this.recorder = options.recorder;
    this.manifest = options.manifest;
    this.print = options.print;
  }

  rankRecord(rank: number): RankRecord {
    let record = this.manifest.ranks[rank];
    if (!record) {
      record = { rank, state: 'starting' };
      this.manifest.ranks[rank] = record;
    }
    return record;
  }

  save(): Promise<void> {
    this.manifest.streams = this.recorder.streamFiles();
    this.manifest.droppedFrames = this.droppedFrames();
    this.manifest.hosts = [...new Set(this.manifest.ranks.map((r) => r?.host).filter((h): h is string => Boolean(h)))];
    this.manifest.gpuBinding = { rules: [...new Set(this.manifest.ranks.map((r) => r?.gpuBinding).filter((g): g is string => Boolean(g)))] };
    return this.recorder.writeManifest(this.manifest as unknown as Record<string, unknown>);
  }

  /** Calls `listener` with every event once it is recorded (the launcher watches finalizes). */
  onEvent(listener: (type: string, fields: Record<string, unknown>) => void): void {
    this.listeners.push(listener);
  }

  event(type: string, fields: Record<string, unknown>): void {
    this.recorder.event(type, fields);
    for (const listener of this.listeners) listener(type, fields);
    const rank = typeof fields.rank === 'number' ? fields.rank : undefined;
    if (type === 'rank-started' && rank !== undefined) {
      const { host, pid, localRank, nodeRank, gpus, gpuBinding, cudaVisibleDevices } = fields;
      Object.assign(this.rankRecord(rank), { host, pid: pid ?? undefined, localRank, nodeRank, gpus, gpuBinding, cudaVisibleDevices });
    } else if (type === 'rank-joined' && rank !== undefined) {
      const caps = (fields.caps ?? {}) as Record<string, unknown>;
      Object.assign(this.rankRecord(rank), {
        host: fields.host,
        pid: fields.pid,
        localRank: caps.localRank,
        nodeRank: caps.nodeRank,
        gpus: caps.gpus,
        gpuBinding: caps.gpuBinding,
        cudaVisibleDevices: caps.cudaVisibleDevices ?? null,
        cpus: caps.cpus,
        cpuBinding: caps.cpuBinding,
        cpuBindingReason: caps.cpuBindingReason,
        state: 'joined',
        joinedAt: new Date().toISOString(),
      });
    } else if (type === 'rank-finalized' && rank !== undefined) {
      this.rankRecord(rank).state = 'finalized';
    } else if (type === 'rank-exited' && rank !== undefined) {
      const record = this.rankRecord(rank);
      record.exitCode = fields.exitCode as number | null;
      record.signal = fields.signal as string | null;
      record.endedAt = new Date().toISOString();
      record.host ??= fields.host as string | undefined;
      record.pid ??= fields.pid as number | undefined;
      if (typeof fields.cpuTimeS === 'number') record.cpuTimeS = fields.cpuTimeS;
      if (record.state !== 'failed') record.state = this.manifest.failure ? 'aborted' : record.exitCode === 0 && !record.signal ? 'exited' : 'failed';
    } else if (type === 'failure') {
      const { message, ...failure } = fields as unknown as FailureInfo & { message: string };
      this.manifest.failure = { ...failure, message };
      if (failure.kind !== 'join' && failure.kind !== 'terminated' && failure.rank >= 0) this.rankRecord(failure.rank).state = 'failed';
    } else if (type === 'all-joined' || type === 'join-refused') {
      // recorded in events.jsonl only
    } else {
      return;
    }
    void this.save().catch((error) => this.warn(`cannot write run.json: ${(error as Error).message}`));
  }

  records(rank: number, items: BatchItem[]): void {
    for (const item of items) {
      if (item.k === 'log') {
        this.recorder.event('log', { rank, message: item.message, ...(item.fields ? { fields: item.fields } : {}) });
        this.print(`[${rank}] ${item.message}`, 'stdout');
      } else {
        try {
          checkStreamName(item.stream);
        } catch (error) {
          this.warn(`rank ${rank}: ${(error as Error).message}; record dropped`);
          continue;
        }
        this.recorder.stream(item.stream, { time: new Date(item.time).toISOString(), rank, ...item.record });
      }
    }
  }

  private energy(): Attribution | null {
    // What ranks measured themselves, and what node samplers measured for nodes whose ranks did not.
    const [file, nodeFile] = ['power.jsonl', 'node-power.jsonl'].map((name) => path.join(this.recorder.dir, name));
    if (!fs.existsSync(file) && !fs.existsSync(nodeFile)) return null;
    const records = (f: string) => (fs.existsSync(f) ? readRecords(f) : []);
    const places = this.manifest.ranks.flatMap((r) => (r && r.host ? [{ rank: r.rank, host: r.host, cpuTimeS: r.cpuTimeS }] : []));
    try {
      const profile = this.manifest.profile ? energyProfileFrom(this.manifest.profile as unknown as ClusterProfile) : defaultEnergyProfile;
      return energySummary(records(file), profile, records(nodeFile), places);
    } catch (error) {
      this.warn(`cannot summarise energy: ${(error as Error).message}`);
      return null;
    }
  }

  /** Adds what the failed rank printed last (bounded by the caller) to run.json's failure and to events.jsonl. */
  failureOutput(rank: number, stderrTail: string[], exception: string | undefined): void {
    const failure = this.manifest.failure;
    if (!failure || failure.rank !== rank || stderrTail.length === 0) return;
    Object.assign(failure, { ...(exception ? { exception } : {}), stderrTail });
    this.recorder.event('rank-output', { rank, ...(exception ? { exception } : {}), stderrTail });
  }

  warn(message: string): void {
    this.recorder.event('warning', { message });
    this.print(`joule: ${message}`, 'stderr');
  }

  /** Final status, times and exit code; flushes every stream, then writes run.json one last time. */
  async finish(status: RunStatus, exitCode: number): Promise<void> {
    this.manifest.status = status;
    this.manifest.exitCode = exitCode;
    this.manifest.endedAt = new Date().toISOString();
    this.manifest.durationS = (Date.now() - this.started) / 1000;
    this.recorder.event('run-ended', { status, exitCode });
    await this.recorder.flush();
    this.manifest.energy = this.energy();
    await this.save();
    await this.recorder.close();
  }
}

export function newManifest(fields: Pick<RunManifest, 'runId' | 'name' | 'command' | 'profile' | 'config' | 'launcher' | 'size'>): RunManifest {
  return {
    schema: 'joule.run/1',
    status: 'running',
    cwd: process.cwd(),
    hosts: [],
    ranks: [],
    gpuBinding: { rules: [] },
    versions: versionSummary(),
    git: { cwd: null, joule: null },
    environment: environmentSummary(),
    startedAt: new Date().toISOString(),
    endedAt: null,
    durationS: null,
    exitCode: null,
    failure: null,
    streams: [],
    energy: null,
    droppedFrames: 0,
    ...fields,
  };
}

/** The commits of the working directory's checkout and of joule's own. */
export function fillGit(manifest: RunManifest): void {
  manifest.git = { cwd: gitCommit(manifest.cwd), joule: gitCommit(packageRoot) };
}
