// nccl-tests-style sweep of one collective over message sizes: time, algbw and busbw (nccl-tests'
// factors), a result check (#wrong), and energy per operation when the rank runtime measures power.
// Each collective is one spec (sizes, data, bus factor, run, check) in the `collectives` table.
import type { Communicator } from '../src/comm/communicator';
import { newBuffer } from '../src/comm/buffers';
import { dtypeBytes } from '../src/comm/native-types';
import type { CommBuffer, DType, ReduceOp, WirePrecision } from '../src/comm/types';
import type { EnergySource, PowerWindows, WindowResult } from '../src/power/types';

export type CollectiveName = 'allreduce' | 'allgather' | 'reducescatter' | 'broadcast' | 'sendrecv';

export interface CollectiveBenchOptions {
  collective: CollectiveName;
  minBytes: number;
  maxBytes: number;
  /** Multiply the size by this each step (nccl-tests -f); 0 means add `stepBytes` instead (-i). */
  stepFactor: number;
  stepBytes: number;
  iterations: number;
  warmup: number;
  check: boolean;
  dtype: DType;
  op: ReduceOp;
  root: number;
  /** 'native': the iterations run back to back inside native code; 'promise': one awaited call each. */
  loop: 'native' | 'promise';
  /** allreduce of f32 only: the dtype bytes travel in (the check's small integers are exact in both). */
  wire?: WirePrecision;
}

export interface ModeResult {
  timeUs: number;
  algbwGBs: number;
  busbwGBs: number;
  wrong: number;
}

export interface BenchRow {
  bytes: number;
  count: number;
  dtype: DType;
  op: ReduceOp | 'none';
  root: number;
  outOfPlace: ModeResult;
  inPlace: ModeResult;
  /** Measured energy of one operation summed over ranks (J), null when no rank measured anything. */
  energyPerOpJ: number | null;
  gbPerJ: number | null;
  /** The model's estimate for what was not measured (J per operation, summed over ranks); never part of energyPerOpJ. */
  modelEnergyPerOpJ: number | null;
  /** Where the energy came from (e.g. "rapl+nvml-counter", "model only"), or why there is none. */
  energySource: string;
}

function sweepSizes(options: Pick<CollectiveBenchOptions, 'minBytes' | 'maxBytes' | 'stepFactor' | 'stepBytes'>): number[] {
  const sizes: number[] = [];
  for (let bytes = options.minBytes; bytes <= options.maxBytes; ) {
    sizes.push(bytes);
    const next = options.stepFactor > 1 ? bytes * options.stepFactor : bytes + options.stepBytes;
    if (next <= bytes) break;
    bytes = next;
  }
  return sizes;
}


// Check data: small integers every dtype holds exactly, so sums, products and averages over a few
// ranks are exact and the expected value is computed here without rounding questions.
function seedValue(rank: number, i: number): number {
  return ((i * 5 + rank * 3) % 7) - 3;
}

const halfBits = new DataView(new ArrayBuffer(4));
function encode(dtype: DType, value: number): number | bigint {
  if (dtype === 'i64') return BigInt(value);
  if (dtype === 'bf16') {
    halfBits.setFloat32(0, value);
    return halfBits.getUint32(0) >>> 16;
  }
  if (dtype === 'f16') {
    // Integers |v| <= 2048 only: exponent and mantissa directly.
    if (value === 0) return 0;
    const sign = value < 0 ? 0x8000 : 0;
    const m = Math.abs(value);
    const e = Math.floor(Math.log2(m));
    return sign | ((e + 15) << 10) | ((m / 2 ** e - 1) * 1024);
  }
  return value;
}
function decode(dtype: DType, raw: number | bigint): number {
  if (dtype === 'i64') return Number(raw);
  if (dtype === 'bf16') {
    halfBits.setUint32(0, (raw as number) << 16);
    return halfBits.getFloat32(0);
  }
  if (dtype === 'f16') {
    const bits = raw as number;
    const e = (bits >> 10) & 0x1f;
    const m = bits & 0x3ff;
    const magnitude = e === 0 ? m * 2 ** -24 : (1 + m / 1024) * 2 ** (e - 15);
    return bits & 0x8000 ? -magnitude : magnitude;
  }
  return raw as number;
}

function reduceExpected(op: ReduceOp, dtype: DType, values: number[]): number {
  let acc = values[0];
  for (let i = 1; i < values.length; ++i) {
    if (op === 'sum' || op === 'avg') acc += values[i];
    else if (op === 'prod') acc *= values[i];
    else if (op === 'max') acc = Math.max(acc, values[i]);
    else acc = Math.min(acc, values[i]);
  }
  if (op === 'avg') return dtype === 'i32' || dtype === 'i64' ? Math.trunc(acc / values.length) : acc / values.length;
  return acc;
}

function fill(buffer: CommBuffer, dtype: DType, rank: number, offset: number): void {
  const target = buffer as unknown as (number | bigint)[];
  for (let i = 0; i < buffer.length; ++i) target[i] = encode(dtype, seedValue(rank, offset + i));
}

interface Shapes {
  /** Elements in the input and the output of one rank. */
  inCount: number;
  outCount: number;
  bytes: number;
}

/** What one operation reads and writes, by nccl-tests' in-place conventions. */
interface Buffers {
  send: CommBuffer;
  recv: CommBuffer;
}

interface CollectiveSpec {
  /** nccl-tests' bus-bandwidth factor (doc/PERFORMANCE.md): what each rank's link must carry. */
  busFactor(ranks: number): number;
  shapes(bytes: number, elementBytes: number, ranks: number): Shapes;
  /** In place, the send and receive buffers overlap as nccl-tests has them. */
  buffers(comm: Communicator, input: CommBuffer, output: CommBuffer, inPlace: boolean): Buffers;
  /** The kind the native loop times (Communicator.timeLoop); none: only the promise loop can time it. */
  loopKind?: 'allreduce' | 'broadcast' | 'allgather' | 'reduceScatter';
  run(comm: Communicator, o: CollectiveBenchOptions, b: Buffers, inPlace: boolean): Promise<void>;
  /** The value element i of `recv` must hold, from every rank's seed values at `offset`. */
  expected(comm: Communicator, o: CollectiveBenchOptions, s: Shapes, i: number, offset: number): number;
  /** Whether the row shows --op and --root. */
  reduces: boolean;
  rooted: boolean;
}

const tagOf = (dtype: DType) => (dtype === 'bf16' || dtype === 'f16' ? { dtype } : {});
const rankBlock = (buffer: CommBuffer, rank: number, length: number) => buffer.subarray(rank * length, (rank + 1) * length) as CommBuffer;
const seeds = (comm: Communicator, index: number) => Array.from({ length: comm.size }, (_, r) => seedValue(r, index));

const wholeBuffer = (bytes: number, eb: number): Shapes => {
  const count = Math.floor(bytes / eb);
  return { inCount: count, outCount: count, bytes: count * eb };
};
const blockPerRank = (bytes: number, eb: number, ranks: number) => Math.floor(bytes / eb / ranks);
const inPlaceOrOut = (input: CommBuffer, output: CommBuffer, inPlace: boolean): Buffers => ({ send: input, recv: inPlace ? input : output });

export const collectives: Record<CollectiveName, CollectiveSpec> = {
  allreduce: {
    busFactor: (n) => (2 * (n - 1)) / n,
    shapes: wholeBuffer,
    buffers: (_, input, output, inPlace) => inPlaceOrOut(input, output, inPlace),
    loopKind: 'allreduce',
    run: (comm, o, b, inPlace) => comm.allreduce(b.send, { op: o.op, out: inPlace ? undefined : b.recv, wire: o.wire, ...tagOf(o.dtype) }),
    expected: (comm, o, _, i, offset) => reduceExpected(o.op, o.dtype, seeds(comm, offset + i)),
    reduces: true,
    rooted: false,
  },
  broadcast: {
    busFactor: () => 1,
    shapes: wholeBuffer,
    buffers: (_, input, output, inPlace) => inPlaceOrOut(input, output, inPlace),
    loopKind: 'broadcast',
    run: (comm, o, b, inPlace) => comm.broadcast(b.send, o.root, { out: inPlace ? undefined : b.recv, ...tagOf(o.dtype) }),
    expected: (_, o, __, i, offset) => seedValue(o.root, offset + i),
    reduces: false,
    rooted: true,
  },
  allgather: {
    busFactor: (n) => (n - 1) / n,
    shapes: (bytes, eb, n) => {
      const per = blockPerRank(bytes, eb, n);
      return { inCount: per, outCount: per * n, bytes: per * n * eb };
    },
    // In place, this rank's input is its block of the output.
    buffers: (comm, input, output, inPlace) => ({ send: inPlace ? rankBlock(output, comm.rank, input.length) : input, recv: output }),
    loopKind: 'allgather',
    run: (comm, o, b) => comm.allgather(b.send, b.recv, tagOf(o.dtype)),
    expected: (_, __, s, i, offset) => seedValue(Math.floor(i / s.inCount), offset + (i % s.inCount)),
    reduces: false,
    rooted: false,
  },
  reducescatter: {
    busFactor: (n) => (n - 1) / n,
    shapes: (bytes, eb, n) => {
      const per = blockPerRank(bytes, eb, n);
      return { inCount: per * n, outCount: per, bytes: per * n * eb };
    },
    // In place, this rank's output is its block of the input.
    buffers: (comm, input, output, inPlace) => ({ send: input, recv: inPlace ? rankBlock(input, comm.rank, output.length) : output }),
    loopKind: 'reduceScatter',
    run: (comm, o, b) => comm.reduceScatter(b.send, b.recv, { op: o.op, ...tagOf(o.dtype) }),
    expected: (comm, o, s, i, offset) => reduceExpected(o.op, o.dtype, seeds(comm, offset + comm.rank * s.outCount + i)),
    reduces: true,
    rooted: false,
  },
  sendrecv: {
    busFactor: () => 1,
    shapes: wholeBuffer,
    // A ring: send to the next rank, receive from the previous one (no in-place form).
    buffers: (_, input, output) => ({ send: input, recv: output }),
    run: async (comm, o, b) => {
      const next = (comm.rank + 1) % comm.size;
      const prev = (comm.rank + comm.size - 1) % comm.size;
      // Even ranks send first, odd ranks receive first, so any message size completes.
      if (comm.rank % 2 === 0) {
        await comm.send(b.send, next, 0, tagOf(o.dtype));
        await comm.recv(b.recv, prev, 0, tagOf(o.dtype));
      } else {
        await comm.recv(b.recv, prev, 0, tagOf(o.dtype));
        await comm.send(b.send, next, 0, tagOf(o.dtype));
      }
    },
    expected: (comm, _, __, i, offset) => seedValue((comm.rank + comm.size - 1) % comm.size, offset + i),
    reduces: false,
    rooted: false,
  },
};

/** `iterations` operations; resolves to their wall time in seconds. */
async function timed(comm: Communicator, o: CollectiveBenchOptions, b: Buffers, inPlace: boolean, iterations: number): Promise<number> {
  const spec = collectives[o.collective];
  if (o.loop === 'native' && spec.loopKind) {
    return comm.timeLoop(spec.loopKind, { buffer: b.send, out: b.recv, op: o.op, root: o.root, wire: o.wire, ...tagOf(o.dtype) }, iterations);
  }
  const start = process.hrtime.bigint();
  for (let i = 0; i < iterations; ++i) await spec.run(comm, o, b, inPlace);
  return Number(process.hrtime.bigint() - start) / 1e9;
}

/** Counts wrong elements of one checked operation on this rank. */
async function check(comm: Communicator, o: CollectiveBenchOptions, s: Shapes, inPlace: boolean, offset: number): Promise<number> {
  const spec = collectives[o.collective];
  const b = spec.buffers(comm, newBuffer(o.dtype, s.inCount), newBuffer(o.dtype, s.outCount), inPlace);
  fill(b.send, o.dtype, comm.rank, offset);
  await spec.run(comm, o, b, inPlace);
  let wrong = 0;
  const got = b.recv as unknown as (number | bigint)[];
  for (let i = 0; i < b.recv.length; ++i) if (decode(o.dtype, got[i]) !== spec.expected(comm, o, s, i, offset)) wrong++;
  return wrong;
}

export interface BenchContext {
  comm: Communicator;
  /** world.power when the rank runtime measures energy. */
  power?: PowerWindows;
}

const measuredSources: EnergySource[] = ['nvml-counter', 'nvml-power', 'rapl'];

/** A window's energy as numbers every rank can gather: measured J, model J, and a bit per measured source. */
function energyFields(window: WindowResult | undefined): [number, number, number] {
  if (!window) return [0, 0, 0];
  const mask = measuredSources.reduce((bits, source, i) => (window.bySource[source] !== undefined ? bits | (1 << i) : bits), 0);
  return [window.energyJ ?? 0, window.modelEnergyJ ?? 0, mask];
}

function sourceText(mask: number, modelJ: number, power: boolean): string {
  const sources = measuredSources.filter((_, i) => mask & (1 << i));
  if (sources.length) return sources.join('+') + (modelJ > 0 ? ' (model for the rest, given apart)' : '');
  if (!power) return 'no power module in this run';
  return modelJ > 0 ? 'model only (no measured source on any rank)' : 'no measured source (model only)';
}

/** Runs the sweep on every rank; every rank gets the same rows (times are the slowest rank's). */
export async function runCollectiveBench(ctx: BenchContext, o: CollectiveBenchOptions, onRow?: (row: BenchRow) => void): Promise<BenchRow[]> {
  const { comm } = ctx;
  const eb = dtypeBytes[o.dtype];
  const rows: BenchRow[] = [];
  const spec = collectives[o.collective];
  const factor = spec.busFactor(comm.size);
  for (const requested of sweepSizes(o)) {
    const s = spec.shapes(requested, eb, comm.size);
    const input = newBuffer(o.dtype, s.inCount);
    const output = newBuffer(o.dtype, s.outCount);
    fill(input, o.dtype, comm.rank, 0);
    const modes: ModeResult[] = [];
    // Summed over both modes' timed loops and every rank (each device is read by one process).
    let measuredJ = 0;
    let modelJ = 0;
    let sourceMask = 0;
    for (const inPlace of [false, true]) {
      const b = spec.buffers(comm, input, output, inPlace);
      if (o.warmup > 0) await timed(comm, o, b, inPlace, o.warmup);
      await comm.barrier();
      let seconds: number;
      let energy: WindowResult | undefined;
      if (ctx.power) {
        const windowed = await ctx.power.window(`bench ${o.collective} ${s.bytes}B ${inPlace ? 'in' : 'out'}-place`, () => timed(comm, o, b, inPlace, o.iterations));
        seconds = windowed.result;
        energy = windowed.energy;
      } else {
        seconds = await timed(comm, o, b, inPlace, o.iterations);
      }
      const wrong = o.check ? await check(comm, o, s, inPlace, 1) : 0;
      // The slowest rank's time, every rank's wrong count and energy, gathered by every rank alike
      // (only some ranks measure: RAPL on local rank 0, NVML where a rank has a GPU).
      const stats = new Float64Array([seconds, wrong, ...energyFields(energy)]);
      const fields = stats.length;
      const all = new Float64Array(fields * comm.size);
      await comm.allgather(stats, all);
      let slowest = 0;
      let wrongAll = 0;
      for (let r = 0; r < comm.size; ++r) {
        const at = fields * r;
        slowest = Math.max(slowest, all[at]);
        wrongAll += all[at + 1];
        measuredJ += all[at + 2];
        modelJ += all[at + 3];
        sourceMask |= all[at + 4];
      }
      const timeUs = (slowest / o.iterations) * 1e6;
      const algbw = timeUs > 0 ? s.bytes / timeUs / 1e3 : 0;
      modes.push({ timeUs, algbwGBs: algbw, busbwGBs: algbw * factor, wrong: wrongAll });
    }
    const operations = 2 * o.iterations;
    const energyPerOpJ = sourceMask ? measuredJ / operations : null;
    const row: BenchRow = {
      bytes: s.bytes,
      count: s.bytes / eb,
      dtype: o.dtype,
      op: spec.reduces ? o.op : 'none',
      root: spec.rooted ? o.root : -1,
      outOfPlace: modes[0],
      inPlace: modes[1],
      energyPerOpJ,
      gbPerJ: energyPerOpJ && energyPerOpJ > 0 ? s.bytes / 1e9 / energyPerOpJ : null,
      modelEnergyPerOpJ: modelJ > 0 ? modelJ / operations : null,
      energySource: sourceText(sourceMask, modelJ, Boolean(ctx.power)),
    };
    rows.push(row);
    onRow?.(row);
  }
  return rows;
}
