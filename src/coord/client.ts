// A rank's connection to the coordinator: a ZeroMQ DEALER with request ids, heartbeats and abort delivery.
import type { Dealer } from 'zeromq';
import { readEnv } from '../env';
import { JouleError } from '../errors';
import { decodeServer, encode, type ClientMessage, type FailureInfo, type PeerInfo, type ServerMessage } from './protocol';
import { curveServerKeys } from './security';

export interface ClientOptions {
  endpoint: string;
  secret: string;
  secure: boolean;
  rank: number;
  size: number;
  host: string;
  caps: Record<string, unknown>;
  heartbeatMs: number;
  heartbeatMisses: number;
  /** 0: wait for the welcome as long as it takes (the coordinator's own join timeout still applies). */
  joinTimeoutMs: number;
  /** Called for coordinator messages that the client cannot attribute (logged once each). */
  warn(message: string): void;
}

export interface Welcome {
  runId: string;
  runDir: string;
  peers: PeerInfo[];
}

type Request = Extract<ClientMessage, { id: number }>;
type RequestWithoutId = Request extends infer R ? (R extends Request ? Omit<R, 'id'> : never) : never;

interface Pending {
  resolve(value: string | null): void;
  reject(error: Error): void;
}

export class CoordClient {
  private readonly options: ClientOptions;
  private dealer?: Dealer;
  private sendChain: Promise<void> = Promise.resolve();
  private nextId = 1;
  private pending = new Map<number, Pending>();
  private heartbeatTimer?: NodeJS.Timeout;
  private lastHeardMs = 0;
  private heartbeatMs: number;
  private heartbeatMisses: number;
  private abortListeners: Array<(error: JouleError, failure?: FailureInfo) => void> = [];
  private welcomeWaiter?: { resolve(w: Welcome): void; reject(e: Error): void };
  /** Set once the job is aborted: every later request fails with it. */
  abortError?: JouleError;
  private closed = false;

  constructor(options: ClientOptions) {
    this.options = options;
    this.heartbeatMs = options.heartbeatMs;
    this.heartbeatMisses = options.heartbeatMisses;
  }

  /** Connects, joins and resolves with the welcome once every rank has joined. */
  async join(): Promise<Welcome> {
    const zmq = await import('zeromq');
    // Ranks may dial before the coordinator listens (the launcher starts them first; under bare srun rank 0 binds
    // while the others start): retry soon, backing off to 1 s so a coordinator that is gone is not hammered.
    const dealer = new zmq.Dealer({ linger: 1000, sendTimeout: -1, reconnectInterval: 20, reconnectMaxInterval: 1000 });
    if (this.options.secure) {
      const client = zmq.curveKeyPair();
      dealer.curveServerKey = curveServerKeys(this.options.secret).publicKey;
      dealer.curvePublicKey = client.publicKey;
      dealer.curveSecretKey = client.secretKey;
    }
    dealer.connect(this.options.endpoint);
    this.dealer = dealer;
    void this.receiveLoop(dealer);
    const welcome = new Promise<Welcome>((resolve, reject) => (this.welcomeWaiter = { resolve, reject }));
    this.send({
      t: 'join',
      token: this.options.secret,
      rank: this.options.rank,
      size: this.options.size,
      host: this.options.host,
      pid: process.pid,
      caps: this.options.caps,
    });
    this.heartbeatTimer = setInterval(() => this.heartbeatTick(), this.heartbeatMs);
    let joinTimer: NodeJS.Timeout | undefined;
    if (this.options.joinTimeoutMs > 0) {
      joinTimer = setTimeout(() => {
        const error = new JouleError(
          'JOULE_TIMEOUT',
          `rank ${this.options.rank}: no welcome from the coordinator at ${this.options.endpoint} within ${this.options.joinTimeoutMs / 1000} s` +
            (this.lastHeardMs ? ' (it answered, but not every rank joined)' : ' (it never answered: wrong address, wrong CURVE key, or not running)'),
          { rank: this.options.rank, host: this.options.host },
        );
        this.welcomeWaiter?.reject(error);
      }, this.options.joinTimeoutMs);
    }
    try {
      return await welcome;
    } finally {
      if (joinTimer) clearTimeout(joinTimer);
      this.welcomeWaiter = undefined;
    }
  }

  onAbort(listener: (error: JouleError, failure?: FailureInfo) => void): void {
    this.abortListeners.push(listener);
  }

  request(message: RequestWithoutId): Promise<string | null> {
    if (this.abortError) return Promise.reject(this.abortError);
    if (this.closed) return Promise.reject(new JouleError('JOULE_ABORTED', `rank ${this.options.rank}: the world is finalized`));
    const id = this.nextId++;
    return new Promise<string | null>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.send({ ...message, id } as ClientMessage);
    });
  }

  /** A message that needs no answer (heartbeat, activity, batch, abort). */
  notify(message: Exclude<ClientMessage, Request | { t: 'join' }>): Promise<void> {
    return this.send(message);
  }

  private send(message: ClientMessage): Promise<void> {
    const dealer = this.dealer;
    if (!dealer || this.closed) return Promise.resolve();
    const payload = encode(message);
    this.sendChain = this.sendChain.then(() => dealer.send(payload)).catch(() => undefined);
    return this.sendChain;
  }

  private async receiveLoop(dealer: Dealer): Promise<void> {
    try {
      for await (const [payload] of dealer) {
        const message = decodeServer(payload);
        if (typeof message === 'string') {
          this.options.warn(`rank ${this.options.rank}: dropped a coordinator frame: ${message}`);
          continue;
        }
        this.lastHeardMs = Date.now();
        this.handle(message);
      }
    } catch (error) {
      if (!this.closed) this.options.warn(`rank ${this.options.rank}: coordinator connection ended: ${(error as Error).message}`);
    }
  }

  private handle(message: ServerMessage): void {
    switch (message.t) {
      case 'hb':
        return;
      case 'welcome':
        this.heartbeatMs = message.heartbeatMs;
        this.heartbeatMisses = message.heartbeatMisses;
        this.welcomeWaiter?.resolve({ runId: message.runId, runDir: message.runDir, peers: message.peers });
        return;
      case 'refused': {
        const error = new JouleError('JOULE_BAD_ARGUMENT', `rank ${this.options.rank}: the coordinator refused the join: ${message.reason}`, {
          rank: this.options.rank,
          host: this.options.host,
        });
        this.welcomeWaiter?.reject(error);
        return;
      }
      case 'reply': {
        const pending = this.pending.get(message.id);
        if (!pending) return;
        this.pending.delete(message.id);
        if (message.ok) pending.resolve(typeof message.value === 'string' ? message.value : null);
        else {
          const wire = message.error ?? { code: 'JOULE_NATIVE_ERROR', message: 'request failed' };
          pending.reject(new JouleError(wire.code as JouleError['code'], wire.message, { rank: this.options.rank, ...(wire.details ?? {}) }));
        }
        return;
      }
      case 'abort': {
        const code = message.failure.kind === 'join' ? 'JOULE_TIMEOUT' : message.failure.kind === 'terminated' ? 'JOULE_ABORTED' : 'JOULE_RANK_FAILED';
        const failed = message.failure.kind === 'join' || message.failure.kind === 'terminated' ? {} : { failedRank: message.failure.rank, failedHost: message.failure.host };
        this.abortWith(
          new JouleError(code, `rank ${this.options.rank} aborted: ${message.message}`, { rank: this.options.rank, host: this.options.host, ...failed, failure: message.failure }),
          message.failure,
        );
        return;
      }
    }
  }

  /** Fails everything pending and tells the listeners, once. */
  abortWith(error: JouleError, failure?: FailureInfo): void {
    if (this.abortError) return;
    this.abortError = error;
    // The runtime prints the abort in one line and exits: user code that does not catch this rejection
    // must not add Node's stack dump (JOULE_DEBUG=1 keeps it), nor end the process before the last
    // records go out. Any other unhandled rejection still ends the process as Node would.
    if (!readEnv('JOULE_DEBUG')) {
      process.on('unhandledRejection', (reason) => {
        if (reason !== error) throw reason;
      });
    }
    this.welcomeWaiter?.reject(error);
    for (const pending of this.pending.values()) pending.reject(error);
    this.pending.clear();
    for (const listener of this.abortListeners) {
      try {
        listener(error, failure);
      } catch (listenerError) {
        this.options.warn(`rank ${this.options.rank}: an onAbort listener threw: ${(listenerError as Error).message}`);
      }
    }
  }

  private heartbeatTick(): void {
    void this.send({ t: 'hb' });
    const silentMs = Date.now() - this.lastHeardMs;
    // Only once the coordinator has answered: before that we may simply be early (bare srun, rank 0 still starting).
    if (this.lastHeardMs && silentMs > this.heartbeatMs * this.heartbeatMisses) {
      this.abortWith(
        new JouleError('JOULE_ABORTED', `rank ${this.options.rank} aborted: lost the coordinator at ${this.options.endpoint} (nothing heard for ${(silentMs / 1000).toFixed(1)} s)`, {
          rank: this.options.rank,
          host: this.options.host,
        }),
      );
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.sendChain;
    this.closed = true;
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    if (this.dealer) {
      // Everything that mattered was answered (finish) or is moot (the job is over): do not hold the exit.
      this.dealer.linger = 0;
      this.dealer.close();
    }
  }
}
