// nccl-tests-style sweep of one collective over message sizes: time, algbw and busbw (nccl-tests'
// factors), a result check (#wrong), and energy per operation when the rank runtime measures power.
import type { Communicator } from '../comm/communicator';
import { newBuffer } from '../comm/buffers';
import { dtypeBytes } from '../comm/native-types';
import type { CommBuffer, DType, ReduceOp, WirePrecision } from '../comm/types';
import type { EnergySource, PowerWindows, WindowResult } from '../power/types';

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

/** nccl-tests' bus-bandwidth factors (doc/PERFORMANCE.md): what each rank's link must carry. */
export function busFactor(collective: CollectiveName, ranks: number): number {
  if (collective === 'allreduce') return (2 * (ranks - 1)) / ranks;
  if (collective === 'allgather' || collective === 'reducescatter') return (ranks - 1) / ranks;
  return 1;
}

export function sweepSizes(options: Pick<CollectiveBenchOptions, 'minBytes' | 'maxBytes' | 'stepFactor' | 'stepBytes'>): number[] {
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

function shapes(collective: CollectiveName, bytes: number, eb: number, ranks: number): Shapes {
  if (collective === 'allgather') {
    const per = Math.floor(bytes / eb / ranks);
    return { inCount: per, outCount: per * ranks, bytes: per * ranks * eb };
  }
  if (collective === 'reducescatter') {
    const per = Math.floor(bytes / eb / ranks);
    return { inCount: per * ranks, outCount: per, bytes: per * ranks * eb };
  }
  const count = Math.floor(bytes / eb);
  return { inCount: count, outCount: count, bytes: count * eb };
}

const rankBlock = (buffer: CommBuffer, rank: number, length: number) => buffer.subarray(rank * length, (rank + 1) * length) as CommBuffer;

const tagOf = (dtype: DType) => (dtype === 'bf16' || dtype === 'f16' ? { dtype } : {});

/** One operation on the given buffers; `inPlace` uses the nccl-tests in-place conventions. */
async function runOnce(comm: Communicator, o: CollectiveBenchOptions, input: CommBuffer, output: CommBuffer, inPlace: boolean, iterations: number): Promise<number> {
  const tag = tagOf(o.dtype);
  const peerNext = (comm.rank + 1) % comm.size;
  const peerPrev = (comm.rank + comm.size - 1) % comm.size;
  const sendrecvOnce = async () => {
    // Even ranks send first, odd ranks receive first, so any message size completes.
    if (comm.rank % 2 === 0) {
      await comm.send(input, peerNext, 0, tag);
      await comm.recv(output, peerPrev, 0, tag);
    } else {
      await comm.recv(output, peerPrev, 0, tag);
      await comm.send(input, peerNext, 0, tag);
    }
  };
  if (o.loop === 'native' && o.collective !== 'sendrecv') {
    const kind = o.collective === 'reducescatter' ? 'reduceScatter' : o.collective;
    const buffer = inPlace && o.collective === 'allgather' ? rankBlock(output, comm.rank, input.length) : input;
    // nccl-tests' in-place conventions: allgather's input is this rank's block of the output,
    // reduce-scatter's output is this rank's block of the input.
    const out = !inPlace ? output : o.collective === 'allgather' ? output : o.collective === 'reducescatter' ? rankBlock(input, comm.rank, output.length) : buffer;
    return comm.timeLoop(kind, { buffer, out, op: o.op, root: o.root, wire: o.wire, ...tag }, iterations);
  }
  const start = process.hrtime.bigint();
  for (let i = 0; i < iterations; ++i) {
    if (o.collective === 'allreduce') await comm.allreduce(input, { op: o.op, out: inPlace ? undefined : output, wire: o.wire, ...tag });
    else if (o.collective === 'broadcast') await comm.broadcast(input, o.root, { out: inPlace ? undefined : output, ...tag });
    else if (o.collective === 'allgather') await comm.allgather(inPlace ? rankBlock(output, comm.rank, input.length) : input, output, tag);
    else if (o.collective === 'reducescatter') await comm.reduceScatter(input, inPlace ? rankBlock(input, comm.rank, output.length) : output, { op: o.op, ...tag });
    else await sendrecvOnce();
  }
  return Number(process.hrtime.bigint() - start) / 1e9;
}

/** Counts wrong elements of one checked operation on this rank. */
async function check(comm: Communicator, o: CollectiveBenchOptions, s: Shapes, inPlace: boolean, offset: number): Promise<number> {
  const input = newBuffer(o.dtype, s.inCount);
  const output = newBuffer(o.dtype, s.outCount);
  const n = comm.size;
  const values = (i: number) => Array.from({ length: n }, (_, r) => seedValue(r, offset + i));
  let wrong = 0;
  const compare = (got: CommBuffer, index: number, want: number) => {
    if (decode(o.dtype, (got as unknown as (number | bigint)[])[index]) !== want) wrong++;
  };
  if (o.collective === 'allgather') {
    const mine = inPlace ? rankBlock(output, comm.rank, s.inCount) : input;
    fill(mine, o.dtype, comm.rank, offset);
    await comm.allgather(mine, output, tagOf(o.dtype));
    for (let r = 0; r < n; ++r) for (let i = 0; i < s.inCount; ++i) compare(output, r * s.inCount + i, seedValue(r, offset + i));
    return wrong;
  }
  fill(input, o.dtype, comm.rank, offset);
  if (o.collective === 'allreduce') {
    await comm.allreduce(input, { op: o.op, out: inPlace ? undefined : output, wire: o.wire, ...tagOf(o.dtype) });
    for (let i = 0; i < s.outCount; ++i) compare(inPlace ? input : output, i, reduceExpected(o.op, o.dtype, values(i)));
  } else if (o.collective === 'reducescatter') {
    const out = inPlace ? rankBlock(input, comm.rank, s.outCount) : output;
    await comm.reduceScatter(input, out, { op: o.op, ...tagOf(o.dtype) });
    for (let i = 0; i < s.outCount; ++i) compare(out, i, reduceExpected(o.op, o.dtype, values(comm.rank * s.outCount + i)));
  } else if (o.collective === 'broadcast') {
    await comm.broadcast(input, o.root, { out: inPlace ? undefined : output, ...tagOf(o.dtype) });
    for (let i = 0; i < s.outCount; ++i) compare(inPlace ? input : output, i, seedValue(o.root, offset + i));
  } else {
    await runOnce(comm, o, input, output, false, 1);
    const prev = (comm.rank + n - 1) % n;
    for (let i = 0; i < s.outCount; ++i) compare(output, i, seedValue(prev, offset + i));
  }
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
  const factor = busFactor(o.collective, comm.size);
  for (const requested of sweepSizes(o)) {
    const s = shapes(o.collective, requested, eb, comm.size);
    const input = newBuffer(o.dtype, s.inCount);
    const output = newBuffer(o.dtype, s.outCount);
    fill(input, o.dtype, comm.rank, 0);
    const modes: ModeResult[] = [];
    // Summed over both modes' timed loops and every rank (each device is read by one process).
    let measuredJ = 0;
    let modelJ = 0;
    let sourceMask = 0;
    for (const inPlace of [false, true]) {
      if (o.warmup > 0) await runOnce(comm, o, input, output, inPlace, o.warmup);
      await comm.barrier();
      let seconds: number;
      let energy: WindowResult | undefined;
      if (ctx.power) {
        const windowed = await ctx.power.window(`bench ${o.collective} ${s.bytes}B ${inPlace ? 'in' : 'out'}-place`, () => runOnce(comm, o, input, output, inPlace, o.iterations));
        seconds = windowed.result;
        energy = windowed.energy;
      } else {
        seconds = await runOnce(comm, o, input, output, inPlace, o.iterations);
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
      op: o.collective === 'allreduce' || o.collective === 'reducescatter' ? o.op : 'none',
      root: o.collective === 'broadcast' ? o.root : -1,
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
