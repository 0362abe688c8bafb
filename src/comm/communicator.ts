// A communicator: collectives and point-to-point over a group of ranks, run by a native backend on the
// communicator's own thread. It connects lazily on its first operation (every member calls the same
// operations in the same order, so the rendezvous happens inside the first collective on every rank).
import { JouleError, knownErrorCode } from '../errors';
import type { NativeComm, NativeOpResult, NativeOpSpec } from '../native';
import { badArgument, checkLength, checkRank, checkSameKind, checkTimeout, dtypeOf } from './buffers';
import { dtypeCode, kindCode, redopCode, wireCode, type OpKind } from './native-types';
import { connectBackend, type Member } from './connect';
import type { Hierarchy } from './hierarchical';
import { wireOverflowError } from './wire';
import type { CommBuffer, CommWorld, CommonOptions, CommunicatorOptions, DType, ReduceOp, ReduceOptions, WirePrecision } from './types';

const reduceOps: ReduceOp[] = ['sum', 'avg', 'max', 'min', 'prod'];
const wires: WirePrecision[] = ['native', 'bf16', 'f16'];

/** One operation's arguments, validated; what `runOp` takes. */
export interface OpArgs {
  dtype: DType;
  count: number;
  op?: ReduceOp;
  wire?: WirePrecision;
  root?: number;
  tag?: number;
  timeoutS?: number;
  /** What avg divides by (default: this communicator's size). */
  avgDivisor?: number;
  in?: CommBuffer;
  out?: CommBuffer;
}

export class Communicator {
  /** Unique within the job: "world", or the parent's id plus the split's sequence and colour. */
  readonly id: string;
  /** This rank within the communicator, and the number of members. */
  readonly rank: number;
  readonly size: number;
  /** Members in communicator rank order, with their world rank and node. */
  readonly members: readonly Member[];
  private readonly world: CommWorld;
  private readonly options: Required<Pick<CommunicatorOptions, 'backend' | 'timeoutS'>> & CommunicatorOptions;
  private handle?: NativeComm;
  private connecting?: Promise<NativeComm>;
  private backendName?: string;
  private seq = 1; // operation #0 is the connecting barrier, as native code counts
  private splits = 0;
  private closed = false;
  /** Set when the backend is hierarchical: the node and leader communicators, connected with this one. */
  private levels?: Hierarchy;
  // Hierarchical operations run one at a time, in call order, so every rank submits their steps to
  // the levels in the same order.
  private levelQueue: Promise<unknown> = Promise.resolve();

  constructor(world: CommWorld, id: string, members: Member[], options: CommunicatorOptions = {}) {
    this.world = world;
    this.id = id;
    this.members = members;
    this.size = members.length;
    this.rank = members.findIndex((m) => m.worldRank === world.rank);
    if (this.rank < 0) throw badArgument(`communicator ${id}: world rank ${world.rank} is not a member`);
    this.options = { backend: 'auto', timeoutS: 300, ...options };
    checkTimeout(this.options.timeoutS, `communicator ${id}`);
    onWorldAbort(world, this);
  }

  /** The backend in use ('shm', 'tcp', 'nccl' or 'hierarchical'), known after the first operation. */
  get backend(): string | undefined {
    return this.backendName;
  }

  /**
   * With the hierarchical backend, once connected (after the first operation): the communicator of
   * this rank's node and, on each node's first rank, the one between node leaders (for diagnostics).
   */
  get hierarchy(): { node: Communicator; leaders?: Communicator } | undefined {
    return this.levels && { node: this.levels.node, leaders: this.levels.leaders };
  }

  /** Operations this communicator has run itself (not counting those run by its hierarchy's levels). */
  get operations(): number {
    return this.seq - 1;
  }

  /** Reduces `buffer` across ranks; every rank gets the result (in place unless `out` is given). */
  async allreduce(buffer: CommBuffer, options: ReduceOptions = {}): Promise<void> {
    const dtype = dtypeOf(buffer, options.dtype, 'allreduce');
    const out = this.outputOf(buffer, options.out, buffer.length, 'allreduce');
    const wire = this.wireOf(dtype, options.wire);
    const op = this.opOf(options.op);
    if (await this.isHierarchical()) {
      await this.inOrder((levels) => levels.allreduce({ kind: 'allreduce', dtype, count: buffer.length, op, wire, root: 0, in: buffer, out, timeoutS: this.timeoutOf(options.timeoutS) }));
      return;
    }
    await this.execute('allreduce', { dtype, count: buffer.length, op, wire, in: buffer, out, timeoutS: options.timeoutS });
  }

  /** Reduces onto `root` only (its buffer, or `out`, receives the result; other ranks' are unchanged). */
  async reduce(buffer: CommBuffer, root: number, options: ReduceOptions = {}): Promise<void> {
    const dtype = dtypeOf(buffer, options.dtype, 'reduce');
    const out = this.outputOf(buffer, options.out, buffer.length, 'reduce');
    const wire = this.wireOf(dtype, options.wire);
    const op = this.opOf(options.op);
    root = checkRank(root, this.size, 'reduce root');
    if (await this.isHierarchical()) {
      await this.inOrder((levels) => levels.reduce({ kind: 'reduce', dtype, count: buffer.length, op, wire, root, in: buffer, out, timeoutS: this.timeoutOf(options.timeoutS) }));
      return;
    }
    await this.execute('reduce', { dtype, count: buffer.length, op, wire, root, in: buffer, out, timeoutS: options.timeoutS });
  }

  /** Copies root's `buffer` to every rank's `buffer` (or `out`). */
  async broadcast(buffer: CommBuffer, root: number, options: CommonOptions & { out?: CommBuffer } = {}): Promise<void> {
    const dtype = dtypeOf(buffer, options.dtype, 'broadcast');
    const out = this.outputOf(buffer, options.out, buffer.length, 'broadcast');
    root = checkRank(root, this.size, 'broadcast root');
    if (await this.isHierarchical()) {
      await this.inOrder((levels) => levels.broadcast({ kind: 'broadcast', dtype, count: buffer.length, op: 'sum', wire: 'native', root, in: buffer, out, timeoutS: this.timeoutOf(options.timeoutS) }));
      return;
    }
    await this.execute('broadcast', { dtype, count: buffer.length, root, in: buffer, out, timeoutS: options.timeoutS });
  }

  /** Gathers every rank's `buffer` into `out` (size × length, in rank order) on every rank. */
  async allgather(buffer: CommBuffer, out: CommBuffer, options: CommonOptions = {}): Promise<void> {
    const dtype = dtypeOf(buffer, options.dtype, 'allgather');
    checkSameKind(buffer, out, 'allgather out');
    checkLength(out, buffer.length * this.size, 'allgather out');
    await this.execute('allgather', { dtype, count: buffer.length, in: buffer, out, timeoutS: options.timeoutS });
  }

  /** Reduces `buffer` (size × out.length) and leaves block `rank` of the result in `out`. */
  async reduceScatter(buffer: CommBuffer, out: CommBuffer, options: Omit<ReduceOptions, 'out'> = {}): Promise<void> {
    const dtype = dtypeOf(buffer, options.dtype, 'reduceScatter');
    checkSameKind(buffer, out, 'reduceScatter out');
    checkLength(buffer, out.length * this.size, 'reduceScatter input');
    const wire = this.wireOf(dtype, options.wire);
    await this.execute('reduceScatter', { dtype, count: out.length, op: this.opOf(options.op), wire, in: buffer, out, timeoutS: options.timeoutS });
  }

  /**
   * Sends `buffer` to `peer`. Messages between two ranks are matched in order and must agree on length,
   * dtype and tag (else JOULE_COLLECTIVE_MISMATCH). Up to 512 KiB completes without the receiver.
   */
  async send(buffer: CommBuffer, peer: number, tag = 0, options: CommonOptions = {}): Promise<void> {
    const dtype = dtypeOf(buffer, options.dtype, 'send');
    await this.execute('send', { dtype, count: buffer.length, root: this.peerOf(peer, 'send'), tag: this.tagOf(tag), in: buffer, timeoutS: options.timeoutS });
  }

  async recv(buffer: CommBuffer, peer: number, tag = 0, options: CommonOptions = {}): Promise<void> {
    const dtype = dtypeOf(buffer, options.dtype, 'recv');
    await this.execute('recv', { dtype, count: buffer.length, root: this.peerOf(peer, 'recv'), tag: this.tagOf(tag), out: buffer, timeoutS: options.timeoutS });
  }

  async barrier(options: Pick<CommonOptions, 'timeoutS'> = {}): Promise<void> {
    await this.execute('barrier', { dtype: 'f32', count: 0, timeoutS: options.timeoutS });
  }

  /**
   * Runs one operation `iterations` times back to back inside native code and returns the seconds it
   * took (for benchmarks: no JavaScript between iterations). Arguments as for the named operation.
   * It runs on this communicator's own backend: with the hierarchical backend, that is the flat tcp mesh.
   */
  async timeLoop(kind: 'allreduce' | 'allgather' | 'reduceScatter' | 'broadcast' | 'send' | 'recv', args: { buffer: CommBuffer; out?: CommBuffer; op?: ReduceOp; root?: number; peer?: number; wire?: WirePrecision; dtype?: 'bf16' | 'f16' }, iterations: number): Promise<number> {
    if (!Number.isInteger(iterations) || iterations < 1) throw badArgument(`timeLoop: iterations must be a positive integer, got ${iterations}`);
    const dtype = dtypeOf(args.buffer, args.dtype, kind);
    const spec: OpArgs = { dtype, count: args.buffer.length, in: args.buffer, out: args.out ?? args.buffer, op: args.op, wire: args.wire, root: args.root };
    if (kind === 'allgather') spec.out = args.out;
    if (kind === 'reduceScatter') spec.count = (args.out as CommBuffer).length;
    if (kind === 'send' || kind === 'recv') spec.root = this.peerOf(args.peer, kind);
    const result = await this.execute(kind, spec, iterations);
    return result.seconds;
  }

  /**
   * Splits this communicator like MPI_Comm_split: ranks passing the same `color` form a new communicator,
   * ordered by `key` then by their rank here. A negative colour joins none and resolves to undefined.
   * Collective: every member must call it.
   */
  async split(color: number, key = 0): Promise<Communicator | undefined> {
    if (!Number.isInteger(color) || !Number.isInteger(key)) throw badArgument(`split: color and key must be integers, got ${color}, ${key}`);
    const mine = new Int32Array([color, key, this.world.nodeRank, this.world.rank]);
    const all = new Int32Array(4 * this.size);
    await this.allgather(mine, all);
    const index = this.splits++;
    if (color < 0) return undefined;
    const group: { key: number; rank: number; member: Member }[] = [];
    for (let r = 0; r < this.size; ++r) {
      if (all[4 * r] === color) group.push({ key: all[4 * r + 1], rank: r, member: { worldRank: all[4 * r + 3], nodeRank: all[4 * r + 2] } });
    }
    group.sort((a, b) => a.key - b.key || a.rank - b.rank);
    return new Communicator(this.world, `${this.id}.${index}.${color}`, group.map((g) => g.member), this.options);
  }

  /** Ends the communicator's thread; an operation still running fails with JOULE_ABORTED. */
  close(): void {
    this.closed = true;
    this.levels?.node.close();
    this.levels?.leaders?.close();
    this.handle?.close();
    this.handle = undefined;
  }

  /** Ends in-flight and later operations on this rank with JOULE_ABORTED (and wakes the peers). */
  abort(reason: string): void {
    this.handle?.abort(reason);
  }

  /** An operation's timeout: the one given (checked, named as `what` in the error) or the communicator's. */
  private timeoutOf(timeoutS: unknown, what = 'communicator operation'): number {
    return timeoutS === undefined ? this.options.timeoutS : checkTimeout(timeoutS, what);
  }

  private opOf(op: unknown): ReduceOp {
    if (op === undefined) return 'sum';
    if (!reduceOps.includes(op as ReduceOp)) throw badArgument(`op must be one of ${reduceOps.join(', ')}, got ${String(op)}`);
    return op as ReduceOp;
  }

  private wireOf(dtype: DType, wire: unknown): WirePrecision {
    if (wire === undefined || wire === 'native') return 'native';
    if (!wires.includes(wire as WirePrecision)) throw badArgument(`wire must be one of ${wires.join(', ')}, got ${String(wire)}`);
    if (dtype !== 'f32') throw badArgument(`wire '${String(wire)}' needs a Float32Array buffer (got ${dtype})`);
    return wire as WirePrecision;
  }

  private outputOf(buffer: CommBuffer, out: unknown, length: number, what: string): CommBuffer {
    if (out === undefined) return buffer;
    checkSameKind(buffer, out, `${what} out`);
    checkLength(out as CommBuffer, length, `${what} out`);
    return out as CommBuffer;
  }

  private peerOf(peer: unknown, what: string): number {
    const rank = checkRank(peer, this.size, `${what} peer`);
    if (rank === this.rank) throw badArgument(`${what}: peer ${rank} is this rank`);
    return rank;
  }

  private tagOf(tag: unknown): number {
    if (!Number.isInteger(tag) || (tag as number) < 0 || (tag as number) > 0x7fffffff) throw badArgument(`tag must be a non-negative 32-bit integer, got ${String(tag)}`);
    return tag as number;
  }

  private async execute(kind: OpKind, args: OpArgs, iterations = 1): Promise<NativeOpResult> {
    const seq = this.seq; // runOp takes it before its first await
    const result = await this.runOp(kind, args, iterations);
    if (result.wireOverflows > 0) {
      throw wireOverflowError(`${kind} #${seq} on communicator ${this.id}`, result.wireOverflows, args.wire, this.world.rank);
    }
    return result;
  }

  /**
   * Runs one operation on this communicator's own backend as given (no hierarchy), and reports wire
   * overflows instead of throwing them. Internal: the hierarchical levels' building block.
   */
  async runOp(kind: OpKind, args: OpArgs, iterations = 1): Promise<NativeOpResult> {
    if (this.closed) throw new JouleError('JOULE_ABORTED', `communicator ${this.id} is closed`);
    const timeoutS = this.timeoutOf(args.timeoutS, kind);
    const spec: NativeOpSpec = {
      kind: kindCode[kind],
      dtype: dtypeCode[args.dtype],
      redop: redopCode[args.op ?? 'sum'],
      wire: wireCode[args.wire ?? 'native'],
      count: args.count,
      root: args.root ?? 0,
      tag: args.tag ?? 0,
      timeoutS,
      avgDivisor: args.avgDivisor ?? 0,
      in: args.in,
      out: args.out,
    };
    const seq = this.seq++;
    this.world.setActivity(`${kind} #${seq} on communicator ${this.id}`);
    const handle = this.handle ?? (await this.connect());
    let result: NativeOpResult;
    try {
      result = await handle.submit(spec, iterations);
    } catch (error) {
      throw this.wrap(error);
    }
    return result;
  }

  private wrap(error: unknown): JouleError {
    const message = (error as Error).message ?? String(error);
    return new JouleError(knownErrorCode((error as { code?: unknown }).code) ?? 'JOULE_NATIVE_ERROR', `communicator ${this.id} (${this.backendName}): ${message}`, {
      rank: this.world.rank,
      host: this.world.host,
      backend: this.backendName,
    });
  }

  private async isHierarchical(): Promise<boolean> {
    if (!this.handle) await this.connect();
    return this.levels !== undefined;
  }

  private async inOrder(operation: (levels: Hierarchy) => Promise<void>): Promise<void> {
    const run = this.levelQueue.then(() => operation(this.levels as Hierarchy));
    this.levelQueue = run.catch(() => undefined);
    await run;
  }

  /** Connects now (collective over the members) rather than in the first operation. */
  async connected(): Promise<void> {
    if (!this.handle) await this.connect();
  }

  // Ranks on several nodes, some sharing one: allreduce, reduce and broadcast go shm inside nodes and
  // tcp between one leader per node (./hierarchical.ts); allgather, reduceScatter, send/recv and barrier
  // stay on the flat tcp mesh. Every rank knows every member's node, so the levels need no exchange to
  // be formed, and they connect (through the key-value) together with this communicator.
  private async connectLevels(): Promise<void> {
    const nodeRank = this.members[this.rank].nodeRank;
    const local = this.members.filter((m) => m.nodeRank === nodeRank);
    const leaderMembers = this.members.filter((m, r) => this.members.findIndex((n) => n.nodeRank === m.nodeRank) === r);
    const node = new Communicator(this.world, `${this.id}.node${nodeRank}`, local, { ...this.options, backend: 'shm' });
    const leaders = local[0].worldRank === this.world.rank ? new Communicator(this.world, `${this.id}.leaders`, leaderMembers, { ...this.options, backend: 'tcp' }) : undefined;
    // Loaded only by jobs that span nodes.
    const { Hierarchy } = require('./hierarchical') as typeof import('./hierarchical');
    this.levels = new Hierarchy(this, node, leaders);
    await Promise.all([node.size > 1 ? node.connected() : undefined, leaders?.connected()]);
  }

  private connect(): Promise<NativeComm> {
    this.connecting ??= (async () => {
      let connected: { handle: NativeComm; backend: string };
      try {
        connected = await connectBackend(this.world, this.id, this.members, this.rank, this.options);
      } catch (error) {
        throw error instanceof JouleError ? error : this.wrap(error);
      }
      const { handle, backend } = connected;
      this.backendName = backend;
      // auto across nodes where some node holds several ranks: shm inside nodes, tcp between them.
      const perNode = new Map<number, number>();
      for (const m of this.members) perNode.set(m.nodeRank, (perNode.get(m.nodeRank) ?? 0) + 1);
      if (this.options.backend === 'auto' && backend === 'tcp' && perNode.size > 1 && [...perNode.values()].some((n) => n > 1)) {
        this.backendName = 'hierarchical';
        try {
          await this.connectLevels();
        } catch (error) {
          handle.close();
          throw error;
        }
      }
      if (this.closed) handle.close();
      else this.handle = handle;
      return handle;
    })();
    return this.connecting;
  }
}

const abortHooks = new WeakMap<CommWorld, Set<WeakRef<Communicator>>>();

/** Closes every communicator made for `world` (the rank runtime calls it when it finalizes). */
export function closeCommunicators(world: CommWorld): void {
  for (const ref of abortHooks.get(world) ?? []) ref.deref()?.close();
}

// One onAbort listener per world aborts every live communicator of that world.
function onWorldAbort(world: CommWorld, comm: Communicator): void {
  let comms = abortHooks.get(world);
  if (!comms) {
    const set = new Set<WeakRef<Communicator>>();
    abortHooks.set(world, set);
    comms = set;
    world.onAbort((reason) => {
      for (const ref of set) ref.deref()?.abort(`job aborted: ${reason.message}`);
    });
  }
  comms.add(new WeakRef(comm));
}

