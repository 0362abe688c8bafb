// Hierarchical allreduce, reduce and broadcast: shm inside each node, tcp between one leader per node.
//
// Every operation runs the same four steps, each on a sub-communicator, so that a failure anywhere
// reaches every rank and no rank waits for a peer that has given up:
//   1. node step (all ranks of a node): the node's share of the work (reduce onto the leader, or the
//      root node's broadcast) or, where a node has nothing to do yet, a barrier carrying the same
//      header. Its header comparison proves that the node's ranks agree on every argument: the tag
//      carries what the sub-operation's own header does not (the caller's kind, op, wire and root).
//   2. leaders step (one rank per node, over tcp): the exchange between nodes, the wire format's
//      bytes included. A leader whose node step failed enters a barrier instead, so the other
//      leaders fail with a mismatch at once rather than waiting for it until the timeout.
//   3. status (node broadcast from the leader): whether step 2 failed and with which code, and the
//      wire overflow count, so every rank of the node throws what its leader saw.
//   4. finish (node broadcast of the result, or the leader's send to a root that is not a leader).
// Because each node agrees internally (1) and the leaders agree (2), a rank that passed different
// arguments fails every rank; a mismatch is then explained with the arguments of every rank, gathered
// over the flat communicator (only on that failure path), in the flat path's words.
import { JouleError, knownErrorCode, type JouleErrorCode } from '../errors';
import type { Communicator, OpArgs } from './communicator';
import { dtypeCode, kindCode, redopCode, wireCode, type OpKind } from './native-types';
import { wireOverflowError } from './wire';
import type { CommBuffer, DType, ReduceOp, WirePrecision } from './types';
import { newBuffer } from './buffers';

/** What the caller asked for, validated by the communicator. */
export interface HierarchicalOp {
  kind: 'allreduce' | 'reduce' | 'broadcast';
  dtype: DType;
  count: number;
  op: ReduceOp;
  wire: WirePrecision;
  root: number;
  in: CommBuffer;
  out: CommBuffer;
  timeoutS: number;
}

// Codes a leader can hand to its node in the status word (index + 1; 0 is success).
const statusCodes: JouleErrorCode[] = ['JOULE_COLLECTIVE_MISMATCH', 'JOULE_TIMEOUT', 'JOULE_RANK_FAILED', 'JOULE_ABORTED', 'JOULE_NATIVE_ERROR'];

export class Hierarchy {
  /** For each member of the parent: its node's index among the nodes, and its index inside its node. */
  private readonly nodeIndex: number[];
  private readonly localIndex: number[];
  /** The parent rank of each node's leader (its first member), by node index. */
  private readonly leaderRanks: number[];

  constructor(
    private readonly parent: Communicator,
    readonly node: Communicator,
    readonly leaders: Communicator | undefined,
  ) {
    const nodes: number[] = [];
    const seen = new Map<number, number>();
    this.nodeIndex = [];
    this.localIndex = [];
    this.leaderRanks = [];
    parent.members.forEach((m, r) => {
      if (!nodes.includes(m.nodeRank)) {
        nodes.push(m.nodeRank);
        this.leaderRanks.push(r);
      }
      this.nodeIndex.push(nodes.indexOf(m.nodeRank));
      this.localIndex.push(seen.get(m.nodeRank) ?? 0);
      seen.set(m.nodeRank, (seen.get(m.nodeRank) ?? 0) + 1);
    });
  }

  async allreduce(a: HierarchicalOp): Promise<void> {
    const leaderIn = this.node.size > 1 ? a.out : a.in;
    await this.run(
      a,
      // Exact inside the node (native dtype, sum for avg); the wire format only between nodes.
      () => this.level(this.node, 'reduce', a, { op: a.op === 'avg' ? 'sum' : a.op, wire: 'native', root: 0, in: a.in, out: a.out }),
      () => this.level(this.leaders, 'allreduce', a, { op: a.op, wire: a.wire, avgDivisor: this.avgDivisor(a), in: leaderIn, out: a.out }),
      () => this.level(this.node, 'broadcast', a, { root: 0, in: a.out, out: a.out }),
    );
  }

  /** The root's buffer (or out) receives the result; every other rank's buffers stay as they were. */
  async reduce(a: HierarchicalOp): Promise<void> {
    const rootNode = this.nodeIndex[a.root];
    const onRootNode = this.nodeIndex[this.parent.rank] === rootNode;
    const leaderIsRoot = this.leaderRanks[rootNode] === a.root;
    // A leader that is not the root accumulates in scratch space.
    const acc = this.leaders && this.parent.rank === a.root ? a.out : this.leaders ? newBuffer(a.dtype, a.count) : a.out;
    const leaderIn = this.node.size > 1 ? acc : a.in;
    await this.run(
      a,
      () => this.level(this.node, 'reduce', a, { op: a.op === 'avg' ? 'sum' : a.op, wire: 'native', root: 0, in: a.in, out: acc }),
      () => this.level(this.leaders, 'reduce', a, { op: a.op, wire: a.wire, avgDivisor: this.avgDivisor(a), root: rootNode, in: leaderIn, out: acc }),
      onRootNode && !leaderIsRoot
        ? () => {
            const local = this.localIndex[a.root];
            if (this.leaders) return this.level(this.node, 'send', a, { root: local, in: acc });
            if (this.parent.rank === a.root) return this.level(this.node, 'recv', a, { root: 0, out: a.out });
            return Promise.resolve(0);
          }
        : undefined,
    );
  }

  async broadcast(a: HierarchicalOp): Promise<void> {
    const rootNode = this.nodeIndex[a.root];
    const onRootNode = this.nodeIndex[this.parent.rank] === rootNode;
    await this.run(
      a,
      // The root's node gets the data first; other nodes only agree on the arguments.
      onRootNode
        ? () => this.level(this.node, 'broadcast', a, { root: this.localIndex[a.root], in: a.in, out: a.out })
        : () => this.level(this.node, 'barrier', a, {}),
      () => this.level(this.leaders, 'broadcast', a, { root: rootNode, in: this.node.size > 1 ? a.out : a.in, out: a.out }),
      onRootNode ? undefined : () => this.level(this.node, 'broadcast', a, { root: 0, in: a.out, out: a.out }),
    );
  }

  // Every leader's status (see statusOf), gathered among the leaders after a failure between them.
  private async leaderStatuses(a: HierarchicalOp, mine: number): Promise<Float64Array> {
    const leaders = this.leaders as Communicator;
    const all = new Float64Array(leaders.size);
    await this.level(leaders, 'allgather', a, { dtype: 'f64', count: 1, in: Float64Array.of(mine), out: all });
    return all;
  }

  // A mismatch between leaders may be another node's failure (its leader entered a barrier): if so,
  // that failure is the one to report.
  private async causeElsewhere(a: HierarchicalOp, mismatch: unknown): Promise<unknown> {
    const statuses = await this.leaderStatuses(a, statusOf(mismatch)).catch(() => undefined);
    const other = statuses?.findIndex((s) => s !== statusOf(mismatch)) ?? -1;
    if (!statuses || other < 0) return mismatch;
    const code = statusCodes[statuses[other] - 1];
    return new JouleError(code, `communicator ${this.parent.id} (hierarchical): ${a.kind} failed with ${code} on the node of rank ${this.leaderRanks[other]} (see the error there)`, {
      rank: this.parent.rank,
      backend: 'hierarchical',
    });
  }

  private avgDivisor(a: HierarchicalOp): number | undefined {
    return a.op === 'avg' ? this.parent.size : undefined;
  }

  // One sub-operation on a level with the caller's dtype, count, timeout and fingerprint; returns its
  // wire overflow count.
  private async level(comm: Communicator | undefined, kind: OpKind, a: HierarchicalOp, args: Partial<OpArgs>): Promise<number> {
    if (!comm) return 0;
    const tag = kindCode[a.kind] | (redopCode[a.op] << 3) | (wireCode[a.wire] << 6) | (a.root << 8);
    try {
      const result = await comm.runOp(kind, { dtype: a.dtype, count: a.count, timeoutS: a.timeoutS, tag, ...args });
      return result.wireOverflows;
    } catch (error) {
      throw this.withRanks(error, comm, a);
    }
  }

  // A level's error names ranks of that level; say which ranks of the parent they are.
  private withRanks(error: unknown, comm: Communicator, a: HierarchicalOp): unknown {
    if (!(error instanceof JouleError)) return error;
    const parentRanks = comm.members.map((m) => this.parent.members.findIndex((p) => p.worldRank === m.worldRank));
    const level = comm === this.node ? 'node' : 'node leaders';
    const note = ` [in hierarchical ${a.kind} on communicator ${this.parent.id}: ranks ${parentRanks.map((_, i) => i).join(',')} of its ${level} communicator are its ranks ${parentRanks.join(',')}]`;
    return new JouleError(error.code, error.message + note, { ...error.details, rank: this.parent.rank, backend: 'hierarchical' });
  }

  private async run(a: HierarchicalOp, nodeStep: () => Promise<number>, leadersStep: () => Promise<number>, finish: (() => Promise<number>) | undefined): Promise<void> {
    const alone = this.node.size === 1;
    let failure: unknown;
    try {
      if (!alone) await nodeStep();
    } catch (error) {
      failure = error;
    }
    const status = new Float64Array(2);
    if (this.leaders) {
      if (failure !== undefined) {
        // This node's step failed (on its every rank, for a mismatch). A barrier in place of the exchange makes the
        // other leaders fail at once with a mismatch; then they learn what really failed here.
        const met = await this.leaders.runOp('barrier', { dtype: 'f32', count: 0, timeoutS: a.timeoutS }).then(
          () => true,
          (error: unknown) => codeOf(error) === 'JOULE_COLLECTIVE_MISMATCH',
        );
        if (met) await this.leaderStatuses(a, statusOf(failure)).catch(() => undefined);
        throw await this.explain(a, failure);
      }
      try {
        status[1] = await leadersStep();
      } catch (error) {
        failure = error;
        if (codeOf(error) === 'JOULE_COLLECTIVE_MISMATCH') failure = await this.causeElsewhere(a, error);
      }
      if (failure !== undefined) status[0] = statusOf(failure);
    } else if (failure !== undefined) {
      throw await this.explain(a, failure);
    }
    if (!alone) {
      try {
        // The leader's side may take three timeouts (exchange, barrier, statuses) before it can tell.
        const timeoutS = this.leaders ? a.timeoutS : 3 * a.timeoutS;
        await this.level(this.node, 'broadcast', a, { dtype: 'f64', count: 2, root: 0, in: status, out: status, timeoutS });
      } catch (error) {
        failure ??= error;
      }
    }
    if (failure === undefined && status[0] !== 0) {
      const code = statusCodes[status[0] - 1] ?? 'JOULE_NATIVE_ERROR';
      const leader = this.leaderRanks[this.nodeIndex[this.parent.rank]];
      failure = new JouleError(code, `communicator ${this.parent.id} (hierarchical): ${a.kind} failed between nodes with ${code} on this node's leader (rank ${leader})`, {
        rank: this.parent.rank,
        backend: 'hierarchical',
      });
    }
    if (failure === undefined && finish && !alone) {
      try {
        await finish();
      } catch (error) {
        failure = error;
      }
    }
    if (failure !== undefined) throw await this.explain(a, failure);
    if (status[1] > 0) throw wireOverflowError(`${a.kind} on communicator ${this.parent.id} (hierarchical)`, status[1], a.wire, this.parent.rank);
  }

  // A mismatch seen on a level is re-worded with what every rank of the parent passed; other failures
  // pass through as they are.
  private async explain(a: HierarchicalOp, failure: unknown): Promise<unknown> {
    if (codeOf(failure) !== 'JOULE_COLLECTIVE_MISMATCH') return failure;
    const mine = Float64Array.from([kindCode[a.kind], a.count, dtypeCode[a.dtype], redopCode[a.op], wireCode[a.wire], a.root]);
    const all = new Float64Array(mine.length * this.parent.size);
    const unexplained = () =>
      new JouleError('JOULE_COLLECTIVE_MISMATCH', `communicator ${this.parent.id} (hierarchical): ${a.kind}: a rank on another node failed or passed different arguments: ${(failure as Error).message}`, {
        rank: this.parent.rank,
        backend: 'hierarchical',
      });
    try {
      await this.parent.allgather(mine, all, { timeoutS: a.timeoutS });
    } catch {
      return unexplained();
    }
    const groups = new Map<string, number[]>();
    for (let r = 0; r < this.parent.size; ++r) {
      const text = describe(all.subarray(r * mine.length, (r + 1) * mine.length));
      groups.set(text, [...(groups.get(text) ?? []), r]);
    }
    if (groups.size < 2) return unexplained();
    const parts = [...groups].map(([text, ranks]) => `${ranks.length === 1 ? 'rank' : 'ranks'} ${ranks.join(',')} passed ${text}`);
    return new JouleError('JOULE_COLLECTIVE_MISMATCH', `communicator ${this.parent.id} (hierarchical): collective mismatch: ${parts.join('; ')}`, {
      rank: this.parent.rank,
      backend: 'hierarchical',
    });
  }
}

// A failure as the number a leader sends to its node: 1 + its code's place in statusCodes.
function statusOf(error: unknown): number {
  const code = codeOf(error);
  const index = code ? statusCodes.indexOf(code) : -1;
  return 1 + (index >= 0 ? index : statusCodes.length - 1);
}

function codeOf(error: unknown): JouleErrorCode | undefined {
  return knownErrorCode((error as { code?: unknown } | undefined)?.code);
}

const byCode = <T extends string>(codes: Record<T, number>, code: number): T | undefined => (Object.keys(codes) as T[]).find((k) => codes[k] === code);

// The flat backends' wording of an operation's arguments (native/comm/header.cc Describe).
function describe(args: Float64Array): string {
  const kind = byCode(kindCode, args[0]) ?? '?';
  let text = `${kind}(count=${args[1]}, dtype=${byCode(dtypeCode, args[2])}`;
  if (kind !== 'broadcast') {
    text += `, op=${byCode(redopCode, args[3])}`;
    if (args[4] !== 0) text += `, wire=${byCode(wireCode, args[4])}`;
  }
  if (kind !== 'allreduce') text += `, root=${args[5]}`;
  return `${text})`;
}
