// The coordinator: a ZeroMQ ROUTER that admits ranks holding the job secret, runs barriers and the
// key-value store, watches heartbeats and turns the first failure into an abort of every other rank.
import type { Router } from 'zeromq';
import { describeFailure } from './failure';
import {
  decodeClient,
  encode,
  type BatchItem,
  type ClientMessage,
  type FailureInfo,
  type PeerInfo,
  type ServerMessage,
  type WireError,
} from './protocol';
import { curveServerKeys, secretMatches } from './security';

/** Where the coordinator's observations go (the launcher writes them to the run directory). */
export interface CoordinatorSink {
  /** A launcher/coordinator event for events.jsonl. */
  event(type: string, fields: Record<string, unknown>): void;
  /** Records a rank sent in a batch (log lines, metrics, named streams). */
  records(rank: number, items: BatchItem[]): void;
  /** One human-readable line for the operator (stderr). */
  warn(message: string): void;
}

export interface CoordinatorOptions {
  secret: string;
  size: number;
  /** Address to bind (127.0.0.1 locally, the node-facing one under SLURM). */
  bindHost: string;
  /** 0: any free port. */
  port: number;
  /** Gives up a hold on `port` (launch/port-reservation.ts) just before it is bound. */
  releasePort?: () => void;
  runId: string;
  runDir: string;
  heartbeatMs: number;
  heartbeatMisses: number;
  /** 0: wait forever for ranks to join. */
  joinTimeoutMs: number;
  /** CURVE-encrypt the traffic with keys derived from the secret. */
  secure: boolean;
  sink: CoordinatorSink;
}

export interface RankState extends Omit<PeerInfo, 'nodeRank'> {
  routingId: Buffer;
  caps: Record<string, unknown>;
  lastSeenMs: number;
  activity?: string;
  lastBarrier?: string;
  /** Set when the rank called finalize (with its status). */
  finalized?: number;
  joinedAtMs: number;
}

interface PendingBarrier {
  waiting: Map<number, number>;
  timer?: NodeJS.Timeout;
}

interface KvWaiter {
  rank: number;
  id: number;
  timer?: NodeJS.Timeout;
}

/** At most this many malformed frames are logged one line each; the rest are counted. */
const MAX_DROP_LINES = 20;
const MAX_KEY_CHARS = 256;
const MAX_VALUE_BYTES = 64 * 1024;

export class Coordinator {
  readonly options: CoordinatorOptions;
  /** tcp://address:port actually bound. */
  endpoint = '';
  readonly ranks = new Map<number, RankState>();
  /** Ranks whose process ended before joining (exit code 0): they simply did not use the runtime. */
  private readonly exitedUnjoined = new Set<number>();
  private byRoutingId = new Map<string, number>();
  private barriers = new Map<string, PendingBarrier>();
  private kv = new Map<string, string>();
  private kvWaiters = new Map<string, KvWaiter[]>();
  private router?: Router;
  private sendChain: Promise<void> = Promise.resolve();
  private heartbeatTimer?: NodeJS.Timeout;
  private joinTimer?: NodeJS.Timeout;
  private welcomed = false;
  private droppedFrames = 0;
  private closed = false;
  private finishedListeners: Array<() => void> = [];
  /** The first failure; every later one is a consequence. */
  failure?: FailureInfo;
  private failureListeners: Array<(failure: FailureInfo, message: string) => void> = [];

  constructor(options: CoordinatorOptions) {
    this.options = options;
  }

  async start(): Promise<string> {
    // Loaded here so that `require('joule')` stays cheap for processes that never coordinate.
    const zmq = await import('zeromq');
    const router = new zmq.Router({ mandatory: true, linger: 500, sendTimeout: 0 });
    if (this.options.secure) {
      router.curveServer = true;
      router.curveSecretKey = curveServerKeys(this.options.secret).secretKey;
    }
    this.options.releasePort?.();
    await router.bind(`tcp://${this.options.bindHost}:${this.options.port || '*'}`);
    this.router = router;
    this.endpoint = router.lastEndpoint ?? '';
    void this.receiveLoop(router);
    this.heartbeatTimer = setInterval(() => this.heartbeatTick(), this.options.heartbeatMs);
    if (this.options.joinTimeoutMs > 0) this.joinTimer = setTimeout(() => this.joinTimedOut(), this.options.joinTimeoutMs);
    return this.endpoint;
  }

  onFailure(listener: (failure: FailureInfo, message: string) => void): void {
    this.failureListeners.push(listener);
  }

  /** Resolves when every rank has called finalize. */
  allFinished(): Promise<void> {
    if (this.everyoneFinalized()) return Promise.resolve();
    return new Promise((resolve) => this.finishedListeners.push(resolve));
  }

  private everyoneFinalized(): boolean {
    if (this.ranks.size + this.exitedUnjoined.size < this.options.size) return false;
    return [...this.ranks.values()].every((r) => r.finalized !== undefined);
  }

  private async receiveLoop(router: Router): Promise<void> {
    try {
      for await (const frames of router) {
        this.handleFrames(frames);
      }
    } catch (error) {
      if (!this.closed) this.options.sink.warn(`coordinator: receive loop ended: ${(error as Error).message}`);
    }
  }

  private drop(why: string, routingId?: Buffer): void {
    this.droppedFrames++;
    if (this.droppedFrames <= MAX_DROP_LINES) {
      const from = routingId ? ` from peer ${routingId.toString('hex')}` : '';
      this.options.sink.warn(`coordinator: dropped a frame${from}: ${why}`);
      if (this.droppedFrames === MAX_DROP_LINES) this.options.sink.warn('coordinator: further dropped frames are counted, not logged');
    }
  }

  get droppedFrameCount(): number {
    return this.droppedFrames;
  }

  private handleFrames(frames: Buffer[]): void {
    const [routingId, payload] = frames;
    if (frames.length !== 2 || !payload) {
      this.drop(`expected 1 data frame, got ${frames.length - 1}`, routingId);
      return;
    }
    const message = decodeClient(payload);
    if (typeof message === 'string') {
      this.drop(message, routingId);
      return;
    }
    try {
      this.handle(routingId, message);
    } catch (error) {
      // A handler bug must not take the coordinator (and so the job) down.
      this.drop(`handler error on ${message.t}: ${(error as Error).message}`, routingId);
    }
  }

  private handle(routingId: Buffer, message: ClientMessage): void {
    if (message.t === 'join') return this.join(routingId, message);
    if (message.t === 'exited') return this.exitedReport(routingId, message);
    if (message.t === 'node-power') return this.nodePower(routingId, message);
    const rank = this.byRoutingId.get(routingId.toString('hex'));
    if (rank === undefined) {
      this.drop(`"${message.t}" from a peer that has not joined`, routingId);
      return;
    }
    const state = this.ranks.get(rank)!;
    state.lastSeenMs = Date.now();
    switch (message.t) {
      case 'hb':
        return;
      case 'activity':
        state.activity = message.activity.slice(0, 500);
        return;
      case 'barrier':
        return this.barrier(state, message.id, message.name, message.timeoutMs);
      case 'kvset':
        return this.kvSet(state, message.id, message.key, message.value);
      case 'kvget':
        return this.reply(state, message.id, true, this.kv.get(message.key) ?? null);
      case 'kvwait':
        return this.kvWait(state, message.id, message.key, message.timeoutMs);
      case 'batch':
        this.options.sink.records(rank, message.items);
        return;
      case 'abort':
        this.fail({ rank, host: state.host, pid: state.pid, kind: 'abort', reason: message.reason, activity: state.activity, lastBarrier: state.lastBarrier }, true);
        return;
      case 'finish':
        state.finalized = message.status;
        this.options.sink.event('rank-finalized', { rank, status: message.status });
        this.reply(state, message.id, true, null);
        if (this.everyoneFinalized()) this.finishedListeners.splice(0).forEach((resolve) => resolve());
        return;
    }
  }

  private join(routingId: Buffer, message: Extract<ClientMessage, { t: 'join' }>): void {
    const { rank, host, pid } = message;
    const refuse = (reason: string): void => {
      this.options.sink.warn(`coordinator: refused a join claiming rank ${rank} from host ${host} pid ${pid}: ${reason}`);
      this.options.sink.event('join-refused', { rank, host, pid, reason });
      this.send(routingId, { t: 'refused', reason });
    };
    if (!secretMatches(this.options.secret, message.token)) return refuse('wrong job secret');
    if (message.size !== this.options.size) return refuse(`size ${message.size} does not match the job's ${this.options.size}`);
    if (rank < 0 || rank >= this.options.size) return refuse(`rank ${rank} is outside 0..${this.options.size - 1}`);
    const existing = this.ranks.get(rank);
    if (existing && !existing.routingId.equals(routingId)) return refuse(`rank ${rank} has already joined (pid ${existing.pid} on ${existing.host})`);
    const now = Date.now();
    this.ranks.set(rank, { rank, host, pid, routingId, caps: message.caps, lastSeenMs: now, joinedAtMs: now });
    this.byRoutingId.set(routingId.toString('hex'), rank);
    this.options.sink.event('rank-joined', { rank, host, pid, caps: message.caps });
    if (this.failure) {
      this.send(routingId, { t: 'abort', failure: this.failure, message: describeFailure(this.failure) });
      return;
    }
    if (this.welcomed) {
      this.sendWelcome(this.ranks.get(rank)!);
      return;
    }
    this.checkJoinComplete();
  }

  private checkJoinComplete(): void {
    if (this.welcomed || this.failure) return;
    if (this.ranks.size === this.options.size) {
      this.welcomed = true;
      if (this.joinTimer) clearTimeout(this.joinTimer);
      this.options.sink.event('all-joined', { size: this.options.size });
      for (const state of this.ranks.values()) this.sendWelcome(state);
    } else if (this.ranks.size > 0 && this.ranks.size + this.exitedUnjoined.size === this.options.size) {
      const missing = [...this.exitedUnjoined].sort((a, b) => a - b);
      this.fail({ rank: missing[0], host: '?', kind: 'join', missingRanks: missing, reason: 'exited without calling joule.init()' });
    }
  }

  private sendWelcome(state: RankState): void {
    const peers = [...this.ranks.values()].sort((a, b) => a.rank - b.rank).map(({ rank, host, pid, caps }) => ({ rank, host, pid, nodeRank: Number.isSafeInteger(caps.nodeRank) ? (caps.nodeRank as number) : 0 }));
    this.send(state.routingId, {
      t: 'welcome',
      runId: this.options.runId,
      runDir: this.options.runDir,
      peers,
      heartbeatMs: this.options.heartbeatMs,
      heartbeatMisses: this.options.heartbeatMisses,
    });
  }

  private joinTimedOut(): void {
    if (this.welcomed || this.failure) return;
    const missing: number[] = [];
    for (let rank = 0; rank < this.options.size; rank++) if (!this.ranks.has(rank)) missing.push(rank);
    this.fail({
      rank: missing[0],
      host: '?',
      kind: 'join',
      missingRanks: missing,
      reason: `no join within ${this.options.joinTimeoutMs / 1000} s`,
    });
  }

  private exitedReport(routingId: Buffer, message: Extract<ClientMessage, { t: 'exited' }>): void {
    if (!secretMatches(this.options.secret, message.token)) {
      this.options.sink.warn(`coordinator: refused an exit report for rank ${message.rank} from host ${message.host}: wrong job secret`);
      this.send(routingId, { t: 'refused', reason: 'wrong job secret' });
      return;
    }
    this.rankExited(message.rank, message.exitCode, message.signal, { host: message.host, pid: message.pid, activity: message.activity, cpuTimeS: message.cpuTimeS });
    this.send(routingId, { t: 'reply', id: message.id, ok: true, value: null });
  }

  private nodePower(routingId: Buffer, message: Extract<ClientMessage, { t: 'node-power' }>): void {
    if (!secretMatches(this.options.secret, message.token) || message.rank < 0 || message.rank >= this.options.size) {
      this.drop('node-power records with a wrong job secret or rank', routingId);
      return;
    }
    this.options.sink.records(message.rank, message.items);
  }

  /**
   * A rank's process ended (seen by the launcher, or reported by its srun-side supervisor), with the last
   * activity its channel carried (newer than any the coordinator connection delivered before a crash) and,
   * from a supervisor, the process's CPU seconds.
   */
  rankExited(rank: number, exitCode: number | null, signal: string | null, seen: { host?: string; pid?: number; activity?: string; cpuTimeS?: number } = {}): void {
    const state = this.ranks.get(rank);
    const base = { rank, host: state?.host ?? seen.host ?? '?', pid: state?.pid ?? seen.pid, activity: seen.activity ?? state?.activity, lastBarrier: state?.lastBarrier };
    this.options.sink.event('rank-exited', { rank, exitCode, signal, host: base.host, pid: base.pid, ...(seen.cpuTimeS === undefined ? {} : { cpuTimeS: seen.cpuTimeS }) });
    if (state) state.lastSeenMs = Number.POSITIVE_INFINITY; // a finished process cannot miss heartbeats
    if (signal) return this.fail({ ...base, kind: 'signal', signal });
    if (exitCode !== 0) return this.fail({ ...base, kind: 'exit', exitCode: exitCode ?? 1 });
    if (!state) {
      this.exitedUnjoined.add(rank);
      this.checkJoinComplete();
      if (this.everyoneFinalized()) this.finishedListeners.splice(0).forEach((resolve) => resolve());
      return;
    }
    if (state.finalized === undefined) this.fail({ ...base, kind: 'finalize' });
  }

  /**
   * Declares the job failed (first failure wins) and tells every rank, unless `tellRanks` is false: a
   * launcher that passed a stop signal on records the failure but lets ranks finish their checkpoint.
   */
  fail(failure: FailureInfo, includeFailedRank = false, tellRanks = true): void {
    if (this.failure || this.closed) return;
    this.failure = failure;
    const message = describeFailure(failure);
    this.options.sink.event('failure', { ...failure, message });
    for (const state of this.ranks.values()) {
      if (!tellRanks || (state.rank === failure.rank && !includeFailedRank)) continue;
      this.send(state.routingId, { t: 'abort', failure, message });
    }
    for (const pending of this.barriers.values()) if (pending.timer) clearTimeout(pending.timer);
    this.barriers.clear();
    for (const listener of this.failureListeners) listener(failure, message);
  }

  private heartbeatTick(): void {
    const now = Date.now();
    const limitMs = this.options.heartbeatMs * this.options.heartbeatMisses;
    for (const state of this.ranks.values()) {
      if (state.finalized !== undefined) continue;
      this.send(state.routingId, { t: 'hb' });
      const silentMs = now - state.lastSeenMs;
      if (silentMs > limitMs && !this.failure) {
        this.fail({
          rank: state.rank,
          host: state.host,
          pid: state.pid,
          kind: 'heartbeat',
          reason: `nothing heard for ${(silentMs / 1000).toFixed(1)} s, limit ${this.options.heartbeatMisses} x ${this.options.heartbeatMs / 1000} s`,
          activity: state.activity,
          lastBarrier: state.lastBarrier,
        });
      }
    }
  }

  private barrier(state: RankState, id: number, name: string, timeoutMs: number): void {
    state.lastBarrier = name;
    let pending = this.barriers.get(name);
    if (!pending) {
      pending = { waiting: new Map() };
      this.barriers.set(name, pending);
      if (timeoutMs > 0) pending.timer = setTimeout(() => this.barrierTimedOut(name, timeoutMs), timeoutMs);
    }
    pending.waiting.set(state.rank, id);
    if (pending.waiting.size < this.options.size) return;
    if (pending.timer) clearTimeout(pending.timer);
    this.barriers.delete(name);
    for (const [rank, requestId] of pending.waiting) this.reply(this.ranks.get(rank)!, requestId, true, null);
  }

  private barrierTimedOut(name: string, timeoutMs: number): void {
    const pending = this.barriers.get(name);
    if (!pending) return;
    this.barriers.delete(name);
    const missing: string[] = [];
    for (let rank = 0; rank < this.options.size; rank++) {
      if (pending.waiting.has(rank)) continue;
      const state = this.ranks.get(rank);
      missing.push(state ? `${rank} (host ${state.host}, last activity ${JSON.stringify(state.activity ?? 'none')})` : `${rank} (not joined)`);
    }
    const error: WireError = {
      code: 'JOULE_TIMEOUT',
      message: `barrier "${name}" timed out after ${timeoutMs / 1000} s; missing rank(s): ${missing.join(', ')}`,
      details: { barrier: name, missingRanks: [...Array(this.options.size).keys()].filter((r) => !pending.waiting.has(r)) },
    };
    this.options.sink.event('barrier-timeout', { barrier: name, message: error.message });
    for (const [rank, requestId] of pending.waiting) this.replyError(this.ranks.get(rank)!, requestId, error);
  }

  private kvSet(state: RankState, id: number, key: string, value: string): void {
    if (key.length > MAX_KEY_CHARS || Buffer.byteLength(value) > MAX_VALUE_BYTES) {
      this.replyError(state, id, { code: 'JOULE_BAD_ARGUMENT', message: `kv.set: keys hold at most ${MAX_KEY_CHARS} characters and values ${MAX_VALUE_BYTES} bytes (key "${key.slice(0, 40)}")` });
      return;
    }
    this.kv.set(key, value);
    this.reply(state, id, true, null);
    const waiters = this.kvWaiters.get(key);
    if (!waiters) return;
    this.kvWaiters.delete(key);
    for (const waiter of waiters) {
      if (waiter.timer) clearTimeout(waiter.timer);
      const target = this.ranks.get(waiter.rank);
      if (target) this.reply(target, waiter.id, true, value);
    }
  }

  private kvWait(state: RankState, id: number, key: string, timeoutMs: number): void {
    const value = this.kv.get(key);
    if (value !== undefined) return this.reply(state, id, true, value);
    const waiter: KvWaiter = { rank: state.rank, id };
    if (timeoutMs > 0) {
      waiter.timer = setTimeout(() => {
        const list = this.kvWaiters.get(key)?.filter((w) => w !== waiter) ?? [];
        if (list.length) this.kvWaiters.set(key, list);
        else this.kvWaiters.delete(key);
        this.replyError(state, id, { code: 'JOULE_TIMEOUT', message: `kv.wait("${key}") timed out after ${timeoutMs / 1000} s: no rank set it` });
      }, timeoutMs);
    }
    const list = this.kvWaiters.get(key) ?? [];
    list.push(waiter);
    this.kvWaiters.set(key, list);
  }

  private reply(state: RankState, id: number, ok: boolean, value: string | null): void {
    this.send(state.routingId, { t: 'reply', id, ok, value });
  }

  private replyError(state: RankState, id: number, error: WireError): void {
    this.send(state.routingId, { t: 'reply', id, ok: false, error });
  }

  private send(routingId: Buffer, message: ServerMessage): void {
    const router = this.router;
    if (!router || this.closed) return;
    const payload = encode(message);
    // zeromq.js allows one pending send per socket: chain them. A peer that vanished is not an error here.
    this.sendChain = this.sendChain.then(() => router.send([routingId, payload])).catch(() => undefined);
  }

  /** Waits for queued messages (an abort broadcast) to be handed to ZeroMQ, then closes. */
  async close(): Promise<void> {
    if (this.closed) return;
    await this.sendChain;
    this.closed = true;
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    if (this.joinTimer) clearTimeout(this.joinTimer);
    for (const pending of this.barriers.values()) if (pending.timer) clearTimeout(pending.timer);
    for (const waiters of this.kvWaiters.values()) for (const w of waiters) if (w.timer) clearTimeout(w.timer);
    this.router?.close();
  }
}

