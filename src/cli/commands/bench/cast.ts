// `joule bench cast`: cast bandwidth (bytes read + written per second) for each direction and size,
// beside memcpy of the same number of bytes with the same thread split, and beside a plain JavaScript
// loop, all in the same run; the casts are checked against the scalar path (#wrong, exit 3).
import os from 'node:os';
import type { CommandSpec } from '../../command';
import { JouleError } from '../../../errors';
import { native } from '../../../native';
import { cast, castArgs, castPaths, type CastArray, type CastOptions } from '../../../precision/cast';
import { cudaCast, cudaCastBench } from '../../../precision/cuda-cast';
import { ExitCode } from '../../exit-codes';
import { formatTable, printJson } from '../../output';
import { jsCast } from './cast-js';
import { formatBytes, parseBytes } from './sizes';

const directions = ['f32-bf16', 'f32-f16', 'bf16-f32', 'f16-f32', 'f64-f32', 'f32-f64'] as const;
type BenchDirection = (typeof directions)[number];

interface BenchCastArgs {
  sizes: string;
  direction?: string[];
  path?: string;
  threads?: number;
  js: boolean;
  stats: boolean;
  device: 'cpu' | 'cuda';
  seconds: number;
  json: boolean;
}

export interface CastBenchRow {
  direction: BenchDirection;
  /** Bytes of the input array. */
  bytes: number;
  elements: number;
  /** Bytes read + written by one cast (input + output). */
  bytesMoved: number;
  castGBps: number;
  memcpyGBps: number;
  /** castGBps / memcpyGBps. */
  memcpyFraction: number;
  jsGBps: number | null;
  /** castGBps / jsGBps. */
  jsSpeedup: number | null;
  /** memcpyGBps / jsGBps: the most any cast moving these bytes could be over the JavaScript loop here. */
  jsCeiling: number | null;
  /** Elements of the timed output that differ from the scalar path's. */
  wrong: number;
}

const sourceBytes: Record<BenchDirection, number> = { 'f32-bf16': 4, 'f32-f16': 4, 'bf16-f32': 2, 'f16-f32': 2, 'f64-f32': 8, 'f32-f64': 4 };
const targetBytes: Record<BenchDirection, number> = { 'f32-bf16': 2, 'f32-f16': 2, 'bf16-f32': 4, 'f16-f32': 4, 'f64-f32': 4, 'f32-f64': 8 };
// native/cast/convert.h's Direction indices.
const directionIndex: Record<BenchDirection, number> = { 'f32-bf16': 0, 'f32-f16': 1, 'bf16-f32': 2, 'f16-f32': 3, 'f64-f32': 4, 'f32-f64': 5 };

function options(direction: BenchDirection): CastOptions {
  const [from, to] = direction.split('-') as [string, CastOptions['to']];
  return from === 'bf16' || from === 'f16' ? { from, to } : { to };
}

/** Gradient-like data: both signs, magnitudes from 2^-20 to 2^10 (inside f16's range, mostly normal). */
function makeInput(direction: BenchDirection, elements: number): CastArray {
  const values = new Float32Array(elements);
  let state = 0x9e3779b9;
  for (let i = 0; i < elements; ++i) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    values[i] = ((state & 0xffff) / 65536 - 0.5) * 2 ** ((state >>> 16) % 31 - 20);
  }
  if (direction === 'bf16-f32') return cast(values, { to: 'bf16' });
  if (direction === 'f16-f32') return cast(values, { to: 'f16' });
  if (direction === 'f64-f32') return Float64Array.from(values, (v, i) => v * (1 + (i % 1000) * 1e-12));
  return values;
}

type Measure = (iterations: number) => Promise<number>;

/**
 * Best rate (GB/s) of each measurement over three rounds. Each is calibrated so one repetition lasts
 * about `seconds`; the rounds interleave them (cast, memcpy, JS, cast, ...) so a burst of load on a busy
 * machine lands on all of them rather than on one, which keeps their ratios honest.
 */
async function bestRates(bytesMoved: number, seconds: number, measures: Measure[]): Promise<number[]> {
  const iterations: number[] = [];
  for (const measure of measures) {
    const once = Math.max(await measure(1), 1e-7);
    iterations.push(Math.max(1, Math.min(1_000_000, Math.ceil(seconds / once))));
  }
  const best = measures.map(() => 0);
  for (let round = 0; round < 3; ++round) {
    for (let m = 0; m < measures.length; ++m) {
      const elapsed = await measures[m](iterations[m]);
      best[m] = Math.max(best[m], (bytesMoved * iterations[m]) / elapsed / 1e9);
    }
  }
  return best;
}

function countWrong(actual: CastArray, expected: CastArray): number {
  const width = actual.BYTES_PER_ELEMENT;
  const a = new Uint8Array(actual.buffer, actual.byteOffset, actual.byteLength);
  const b = new Uint8Array(expected.buffer, expected.byteOffset, expected.byteLength);
  let wrong = 0;
  for (let i = 0; i < actual.length; ++i) {
    for (let k = 0; k < width; ++k) {
      if (a[i * width + k] !== b[i * width + k]) {
        wrong++;
        break;
      }
    }
  }
  return wrong;
}

export async function benchCast(args: {
  sizes: number[];
  directions: readonly BenchDirection[];
  path?: string;
  threads?: number;
  js: boolean;
  /** Time the fused cast + statistics (castStats writing `out`) instead of the plain cast. */
  stats?: boolean;
  seconds: number;
  progress?: (line: string) => void;
}): Promise<CastBenchRow[]> {
  const addon = native();
  const rows: CastBenchRow[] = [];
  for (const direction of args.directions) {
    for (const bytes of args.sizes) {
      const elements = Math.max(1, Math.floor(bytes / sourceBytes[direction]));
      const input = makeInput(direction, elements);
      const castOptions = { ...options(direction), path: args.path, threads: args.threads };
      const out = cast(input, castOptions);
      const bytesMoved = input.byteLength + out.byteLength;
      const { args: nativeArgs } = castArgs(input, { ...castOptions, out });
      nativeArgs[6] = args.stats ?? false;
      // memcpy moving the same number of bytes: half of them read, half written.
      const copySource = new Uint8Array(Math.max(1, Math.round(bytesMoved / 2)));
      copySource.fill(1);
      const copyTarget = new Uint8Array(copySource.length);
      const measures: Measure[] = [(n) => addon.castBench(...nativeArgs, n), (n) => addon.copyBench(copySource, copyTarget, n, args.threads ?? 0)];
      if (args.js) {
        const loop = jsCast(direction);
        const jsOut = cast(input, castOptions).fill(0);
        measures.push(async (n) => {
          const start = process.hrtime.bigint();
          for (let i = 0; i < n; ++i) loop(input, jsOut);
          return Number(process.hrtime.bigint() - start) / 1e9;
        });
      }
      const [castGBps, memcpyGBps, measuredJs] = await bestRates(bytesMoved, args.seconds, measures);
      const jsGBps = measuredJs ?? null;
      const wrong = countWrong(out, cast(input, { ...options(direction), path: 'scalar', threads: 1 }));
      const row: CastBenchRow = {
        direction,
        bytes,
        elements,
        bytesMoved,
        castGBps,
        memcpyGBps,
        memcpyFraction: castGBps / memcpyGBps,
        jsGBps,
        jsSpeedup: jsGBps ? castGBps / jsGBps : null,
        jsCeiling: jsGBps ? memcpyGBps / jsGBps : null,
        wrong,
      };
      rows.push(row);
      args.progress?.(`${direction} ${formatBytes(bytes)}: ${castGBps.toFixed(2)} GB/s (memcpy ${memcpyGBps.toFixed(2)})`);
    }
  }
  return rows;
}

/**
 * The GPU rows: the kernels on device buffers beside cudaMemcpy device-to-device of the same bytes
 * (CUDA events); #wrong compares a host-staged GPU cast of the same input with the CPU's.
 */
export async function benchCastCuda(args: {
  sizes: number[];
  directions: readonly BenchDirection[];
  seconds: number;
  progress?: (line: string) => void;
}): Promise<CastBenchRow[]> {
  const rows: CastBenchRow[] = [];
  for (const direction of args.directions) {
    for (const bytes of args.sizes) {
      const elements = Math.max(1, Math.floor(bytes / sourceBytes[direction]));
      const bytesMoved = elements * (sourceBytes[direction] + targetBytes[direction]);
      const probe = await cudaCastBench(directionIndex[direction], elements, 10);
      const iterations = Math.max(10, Math.min(100_000, Math.ceil((args.seconds * 10) / Math.max(probe.castS, 1e-6))));
      let castGBps = 0;
      let memcpyGBps = 0;
      for (let rep = 0; rep < 3; ++rep) {
        const timing = await cudaCastBench(directionIndex[direction], elements, iterations);
        castGBps = Math.max(castGBps, (bytesMoved * iterations) / timing.castS / 1e9);
        memcpyGBps = Math.max(memcpyGBps, (bytesMoved * iterations) / timing.copyS / 1e9);
      }
      const input = makeInput(direction, elements);
      const wrong = countWrong(await cudaCast(input, options(direction)), cast(input, options(direction)));
      rows.push({ direction, bytes, elements, bytesMoved, castGBps, memcpyGBps, memcpyFraction: castGBps / memcpyGBps, jsGBps: null, jsSpeedup: null, jsCeiling: null, wrong });
      args.progress?.(`${direction} ${formatBytes(bytes)} on the GPU: ${castGBps.toFixed(1)} GB/s (device copy ${memcpyGBps.toFixed(1)})`);
    }
  }
  return rows;
}

function render(rows: CastBenchRow[], header: string): string {
  const table = [['direction', 'size', 'elements', 'cast GB/s', 'memcpy GB/s', '% memcpy', 'JS GB/s', 'x JS', 'memcpy/JS', '#wrong']];
  for (const r of rows) {
    table.push([
      r.direction,
      formatBytes(r.bytes),
      String(r.elements),
      r.castGBps.toFixed(2),
      r.memcpyGBps.toFixed(2),
      `${(100 * r.memcpyFraction).toFixed(0)} %`,
      r.jsGBps === null ? '-' : r.jsGBps.toFixed(3),
      r.jsSpeedup === null ? '-' : `${r.jsSpeedup.toFixed(1)}x`,
      r.jsCeiling === null ? '-' : `${r.jsCeiling.toFixed(1)}x`,
      String(r.wrong),
    ]);
  }
  return `${header}\n${formatTable(table)}`;
}

export const benchCastCommand: CommandSpec<BenchCastArgs> = {
  command: 'cast',
  describe: 'Cast bandwidth (GB/s read + written) per direction and size, beside memcpy and a JavaScript loop',
  options: {
    sizes: { type: 'string', default: '4KiB,256KiB,4MiB,64MiB', describe: 'Input sizes in bytes, comma-separated (KiB/MiB/GiB)' },
    direction: { type: 'string', array: true, choices: directions, describe: 'Directions to run (default: all)' },
    path: { type: 'string', describe: 'Force a CPU path (scalar, avx2, avx512, avx512bf16; default: the best this CPU runs)' },
    threads: { type: 'number', describe: 'Split each cast (and memcpy) into this many parts (default: from the size)' },
    js: { type: 'boolean', default: true, describe: 'Also time the plain JavaScript loop (--no-js skips it)' },
    stats: { type: 'boolean', default: false, describe: 'Time the fused cast + quantization statistics (castStats with out)' },
    device: { choices: ['cpu', 'cuda'] as const, default: 'cpu' as const, describe: 'cuda: time the kernels on device buffers beside a device-to-device copy' },
    seconds: { type: 'number', default: 0.2, describe: 'Target duration of each timed repetition (best of three is reported)' },
    json: { type: 'boolean', default: false, describe: 'Print the rows as JSON' },
  },
  examples: [
    ['$0 bench cast', 'All directions at 4 KiB ... 64 MiB'],
    ['$0 bench cast --direction f32-bf16 --sizes 64MiB --threads 1 --json', 'One row, single-threaded, for scripts'],
    ['JOULE_CAST_PATH=avx2 $0 bench cast --no-js', 'Time the AVX2 path without the JavaScript baseline'],
    ['$0 bench cast --device cuda --sizes 64MiB,1GiB', 'The CUDA kernels against cudaMemcpy device to device'],
  ],
  handler: async (args) => {
    const sizes = args.sizes.split(',').map((s) => parseBytes(s, '--sizes'));
    if (args.threads !== undefined && (!Number.isInteger(args.threads) || args.threads < 1 || args.threads > 256)) {
      throw new JouleError('JOULE_BAD_ARGUMENT', `--threads must be an integer from 1 to 256 (got ${args.threads})`);
    }
    if (!(args.seconds > 0 && args.seconds <= 60)) throw new JouleError('JOULE_BAD_ARGUMENT', `--seconds must be in (0, 60] (got ${args.seconds})`);
    const paths = castPaths();
    const path = args.path ?? paths.default ?? 'scalar';
    const load = os.loadavg();
    const progress = (line: string) => process.stderr.write(`joule bench cast: ${line}\n`);
    if (args.device === 'cuda' && (args.stats || args.path || args.threads !== undefined)) {
      throw new JouleError('JOULE_BAD_ARGUMENT', '--stats, --path and --threads apply to --device cpu only');
    }
    const rows = args.device === 'cuda' ? await benchCastCuda({ sizes, directions: (args.direction as BenchDirection[] | undefined) ?? directions, seconds: args.seconds, progress }) : await benchCast({
      sizes,
      directions: (args.direction as BenchDirection[] | undefined) ?? directions,
      path: args.path,
      threads: args.threads,
      js: args.js,
      stats: args.stats,
      seconds: args.seconds,
      progress,
    });
    const context = {
      kernel: args.stats ? 'cast + statistics' : 'cast',
      device: args.device,
      baseline: args.device === 'cuda' ? 'cudaMemcpy device to device' : 'memcpy',
      path: args.device === 'cuda' ? 'cuda' : path,
      threads: args.threads ?? 'auto',
      cpus: os.cpus().length,
      cpuModel: os.cpus()[0]?.model ?? 'unknown',
      loadAverage: load.map((l) => Number(l.toFixed(2))),
      loadAverageAfter: os.loadavg().map((l) => Number(l.toFixed(2))),
    };
    if (args.json) printJson({ benchmark: 'cast', ...context, rows });
    else {
      const header =
        `joule bench cast (${context.kernel}): path ${context.path}, threads ${context.threads}, memcpy = ${context.baseline}, ${context.cpus} CPUs (${context.cpuModel}), ` +
        `load ${context.loadAverage.join(' ')} before, ${context.loadAverageAfter.join(' ')} after; GB/s = 1e9 bytes read + written per second, best of 3 interleaved rounds; ` +
        'memcpy/JS = the most any cast of these bytes could be over the JavaScript loop';
      process.stdout.write(`${render(rows, header)}\n`);
    }
    if (rows.some((r) => r.wrong > 0)) process.exitCode = ExitCode.wrongResults;
  },
};
