// The World a rank gets from joule.init(): identity plus barrier, key-value, logs, streams and abort,
// all through the coordinator connection.
import { closeCommunicators, type Communicator } from '../comm/communicator';
import { worldCommunicator } from '../comm/world-comm';
import { powerOffWindows } from '../power/off';
import type { CoordClient } from '../coord/client';
import type { BatchItem, PeerInfo } from '../coord/protocol';
import type { Coordinator } from '../coord/server';
import { JouleError } from '../errors';
import { checkStreamName } from '../report/run-record';
import type { RunJournal } from '../report/journal';
import type { CpuBinding, CpuBindingRule } from './cpu';
import type { RankEnvironment, StartMode } from './identity';
import type { GpuBindingRule, KeyValue, MetricRecord, World } from './types';
import { openActivityWriter } from './activity-writer';
import type { PowerWindows } from '../power/types';

/** Records wait at most this long in the rank before they go to the coordinator in one message. */
const BATCH_FLUSH_MS = 100;
const BATCH_MAX_ITEMS = 256;
/** setActivity may be called per collective: send the latest text at most this often. */
const ACTIVITY_FLUSH_MS = 50;
/** How long an aborted rank waits for its listeners and last batch before it exits. */
const ABORT_EXIT_DELAY_MS = 300;

export interface BarrierOptions {
  /** Fail with JOULE_TIMEOUT (listing the missing ranks) after this long; default JOULE_BARRIER_TIMEOUT_S (600 s). */
  timeoutMs?: number;
}

export interface RankWorldParts {
  identity: RankEnvironment;
  /** The CPU binding init applied before joining. */
  cpu: CpuBinding;
  client: CoordClient;
  runId: string;
  runDir: string;
  peers: PeerInfo[];
  /** Present when this process hosts the coordinator (bare srun rank 0, singleton). */
  hosted?: { coordinator: Coordinator; journal?: RunJournal };
}

export class RankWorld implements World {
  readonly rank: number;
  readonly size: number;
  readonly localRank: number;
  readonly localSize: number;
  readonly nodeRank: number;
  readonly nodes: number;
  readonly host: string;
  readonly runDir: string;
  readonly gpus: number[];
  readonly gpuBinding: GpuBindingRule;
  readonly cpus: number[];
  readonly cpuBinding: CpuBindingRule;
  /** The run's id (the run directory's name under `joule launch`). */
  readonly runId: string;
  /** Every rank's host and pid, by rank. */
  readonly peers: readonly PeerInfo[];
  /** How this rank was started (local launcher, srun, singleton). */
  readonly startMode: StartMode;
  readonly kv: KeyValue;
  readonly metrics: { record(metric: MetricRecord): void };
  /**
   * Modules attached by later layers (collectives, power...) through attachModule; they are finalized in
   * reverse order of attachment before the world itself.
   */
  readonly modules = new Map<string, { finalize?(): Promise<void> | void }>();

  private readonly client: CoordClient;
  private readonly hosted?: RankWorldParts['hosted'];
  private readonly barrierTimeoutMs: number;
  private batch: BatchItem[] = [];
  private batchTimer?: NodeJS.Timeout;
  private barrierCounts = new Map<string, number>();
  private pendingActivity?: string;
  private activityTimer?: NodeJS.Timeout;
  private readonly activityWriter = openActivityWriter();
  private abortListeners: Array<(reason: Error) => void> = [];
  private finalized = false;
  private powerOff?: PowerWindows;
  private worldComm?: Communicator;

  constructor(parts: RankWorldParts) {
    const id = parts.identity;
    this.rank = id.rank;
    this.size = id.size;
    this.localRank = id.localRank;
    this.localSize = id.localSize;
    this.nodeRank = id.nodeRank;
    this.nodes = id.nodes;
    this.host = id.host;
    this.gpus = id.gpu.gpus;
    this.gpuBinding = id.gpu.rule;
    this.cpus = parts.cpu.cpus;
    this.cpuBinding = parts.cpu.rule;
    this.startMode = id.mode;
    this.runId = parts.runId;
    this.runDir = parts.runDir;
    this.peers = parts.peers;
    this.client = parts.client;
    this.hosted = parts.hosted;
    this.barrierTimeoutMs = id.barrierTimeoutMs;
    this.kv = {
      set: async (key, value) => {
        await this.request({ t: 'kvset', key: String(key), value: String(value) });
      },
      get: async (key) => (await this.request({ t: 'kvget', key: String(key) })) ?? undefined,
      wait: async (key, timeoutMs = 0) => (await this.request({ t: 'kvwait', key: String(key), timeoutMs: Math.max(0, Math.round(timeoutMs)) })) ?? '',
    };
    this.metrics = { record: (metric) => this.stream('metrics', { ...metric }) };
    this.client.onAbort((error) => this.aborted(error));
    // process.exit() and uncaught exceptions run 'exit' listeners: the throttled, not yet sent activity goes out there.
    const writer = this.activityWriter;
    if (writer) process.once('exit', () => this.pendingActivity !== undefined && writer.write(this.pendingActivity));
  }

  /** Energy windows around code (world.power.window(name, fn)); init() attaches the monitor. */
  /** The power monitor's windows; with power off (JOULE_POWER=off), windows that measure nothing. */
  get power(): PowerWindows {
    const monitor = this.modules.get('power');
    if (monitor) return monitor as unknown as PowerWindows;
    this.powerOff ??= powerOffWindows();
    return this.powerOff;
  }

  /**
   * The communicator over every rank (src/comm): collectives and point-to-point. Made on first use; its
   * backend is chosen and connected inside the first operation, which every rank calls.
   */
  get comm(): Communicator {
    if (!this.worldComm) {
      this.worldComm = worldCommunicator(this);
      this.attachModule('comm', { finalize: () => closeCommunicators(this) });
    }
    return this.worldComm;
  }

  /** MPI_Comm_split of `comm`: ranks with the same colour form a communicator, ordered by key (collective). */
  split(color: number, key = 0): Promise<Communicator | undefined> {
    return this.comm.split(color, key);
  }

  /** Attaches a module under `name` (e.g. world.attachModule('comm', comm)); names are unique. */
  attachModule<T extends { finalize?(): Promise<void> | void }>(name: string, module: T): T {
    if (this.modules.has(name)) throw new JouleError('JOULE_BAD_ARGUMENT', `a module named "${name}" is already attached`);
    this.modules.set(name, module);
    return module;
  }

  private async request(message: Parameters<CoordClient['request']>[0]): Promise<string | null> {
    this.flushActivity();
    return this.client.request(message);
  }

  async barrier(name = 'barrier', options: BarrierOptions = {}): Promise<void> {
    // Repeated barriers with one name are told apart by a per-name count every rank keeps the same way.
    const index = this.barrierCounts.get(name) ?? 0;
    this.barrierCounts.set(name, index + 1);
    await this.request({ t: 'barrier', name: `${name}#${index}`, timeoutMs: Math.max(0, Math.round(options.timeoutMs ?? this.barrierTimeoutMs)) });
  }

  log(message: string, fields?: Record<string, unknown>): void {
    this.enqueue({ k: 'log', time: Date.now(), message: String(message), ...(fields ? { fields } : {}) });
  }

  stream(name: string, record: Record<string, unknown>): void {
    checkStreamName(name);
    this.enqueue({ k: 'stream', time: Date.now(), stream: name, record });
  }

  setActivity(activity: string): void {
    // Throttled: the first call goes out at once (a crash right after still names it), later ones at most every 50 ms.
    this.pendingActivity = String(activity);
    if (this.activityTimer) return;
    this.flushActivity();
    this.activityTimer = setTimeout(() => {
      this.activityTimer = undefined;
      this.flushActivity();
    }, ACTIVITY_FLUSH_MS);
  }

  private flushActivity(): void {
    if (this.pendingActivity === undefined) return;
    this.activityWriter?.write(this.pendingActivity);
    void this.client.notify({ t: 'activity', activity: this.pendingActivity });
    this.pendingActivity = undefined;
  }

  private enqueue(item: BatchItem): void {
    this.batch.push(item);
    if (this.batch.length >= BATCH_MAX_ITEMS) void this.flushBatch();
    else if (!this.batchTimer) this.batchTimer = setTimeout(() => void this.flushBatch(), BATCH_FLUSH_MS);
  }

  private flushBatch(): Promise<void> {
    if (this.batchTimer) clearTimeout(this.batchTimer);
    this.batchTimer = undefined;
    if (this.batch.length === 0) return Promise.resolve();
    const items = this.batch;
    this.batch = [];
    return this.client.notify({ t: 'batch', items });
  }

  onAbort(listener: (reason: Error) => void): void {
    this.abortListeners.push(listener);
  }

  private aborted(error: Error): void {
    for (const listener of this.abortListeners) {
      try {
        listener(error);
      } catch (listenerError) {
        process.stderr.write(`joule: rank ${this.rank}: an onAbort listener threw: ${(listenerError as Error).message}\n`);
      }
    }
    process.stderr.write(`joule: ${error.message}\n`);
    // The job is over: leave even if user code swallowed the rejection, after the last records went out.
    void this.flushBatch();
    setTimeout(() => process.exit(1), ABORT_EXIT_DELAY_MS);
  }

  async abort(reason: string): Promise<never> {
    this.flushActivity();
    await this.flushBatch();
    await this.client.notify({ t: 'abort', reason: String(reason) });
    // The coordinator answers with the abort broadcast, which runs aborted() and exits; this is the fallback.
    await new Promise((resolve) => setTimeout(resolve, 2000));
    process.exit(1);
  }

  async finalize(): Promise<void> {
    if (this.finalized) return;
    this.finalized = true;
    for (const [name, module] of [...this.modules].reverse()) {
      try {
        await module.finalize?.();
      } catch (error) {
        this.log(`module ${name} failed to finalize: ${(error as Error).message}`);
      }
    }
    this.flushActivity();
    await this.flushBatch();
    await this.client.request({ t: 'finish', status: 0 });
    if (this.hosted) {
      // The coordinator lives in this process: keep it until every rank has said goodbye.
      await this.hosted.coordinator.allFinished();
      if (this.hosted.journal) await this.hosted.journal.finish('succeeded', 0);
      await this.hosted.coordinator.close();
    }
    await this.client.close();
  }
}
