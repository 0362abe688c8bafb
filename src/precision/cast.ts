// The cast API: checks arguments in TypeScript, then hands the native conversions flat arguments.
import { JouleError } from '../errors';
import { native, type NativeCastArgs, type NativeCastStats } from '../native';

export type CastDType = 'bf16' | 'f16' | 'f32' | 'f64';
/** How a Uint16Array's bits are read. */
export type HalfDType = 'bf16' | 'f16';
export type CastArray = Float32Array | Float64Array | Uint16Array;

export interface CastOptions {
  to: CastDType;
  /** Required when the input is a Uint16Array: which 16-bit format its bits hold. */
  from?: HalfDType;
  /** Where to write (same length as the input, the target's array type); allocated when absent. */
  out?: CastArray;
  /**
   * Multiplies every value: before a narrowing cast, after a widening one (rounded to float32 first;
   * f32 arithmetic, or f64 when one side is f64). Loss scaling passes the scale, unscaling 1/scale.
   */
  scale?: number;
  /** Force one CPU path by name (see castPaths()); the best supported one otherwise. For tests and benchmarks. */
  path?: string;
  /** How many parts to split the work into; chosen from the size when absent. */
  threads?: number;
}

/**
 * Quantization statistics of a cast, gathered in the same pass. With r = input × scale (exact, in f64)
 * and c the stored result: relError = ‖r − c‖ / ‖r‖ over finite r whose c is finite; `underflow`
 * counts r ≠ 0 stored as ±0; `overflow` counts finite inputs stored as ±Inf; `nonFinite` counts NaN or
 * ±Inf inputs.
 */
export interface CastStats {
  relError: number;
  underflow: number;
  overflow: number;
  nonFinite: number;
  /** Σ(r − c)² and Σr², for combining statistics of several arrays. */
  sumSquaredError: number;
  sumSquared: number;
  count: number;
}

export interface CastPath {
  name: string;
  supported: boolean;
}

const dtypes: readonly CastDType[] = ['bf16', 'f16', 'f32', 'f64'];

// Indices of native::cast::Direction.
const Direction = { f32ToBf16: 0, f32ToF16: 1, bf16ToF32: 2, f16ToF32: 3, f64ToF32: 4, f32ToF64: 5, f32ToF32: 6 } as const;

interface Plan {
  direction: number;
  make: (length: number) => CastArray;
  outType: typeof Float32Array | typeof Float64Array | typeof Uint16Array;
}

function badArgument(message: string, details: Record<string, unknown> = {}): JouleError {
  return new JouleError('JOULE_BAD_ARGUMENT', `cast: ${message}`, details);
}

function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value !== 'object') return typeof value;
  return (value as object).constructor?.name ?? 'object';
}

function plan(input: unknown, options: CastOptions): Plan {
  if (options === null || typeof options !== 'object') throw badArgument('options must be an object with `to`');
  const { to, from } = options;
  if (!dtypes.includes(to)) throw badArgument(`unknown target dtype ${JSON.stringify(to)} (expected one of ${dtypes.join(', ')})`);
  if (from !== undefined && from !== 'bf16' && from !== 'f16') {
    throw badArgument(`unknown source dtype ${JSON.stringify(from)} (\`from\` is 'bf16' or 'f16', for a Uint16Array)`);
  }
  const f32 = { make: (n: number) => new Float32Array(n), outType: Float32Array };
  const u16 = { make: (n: number) => new Uint16Array(n), outType: Uint16Array };
  const f64 = { make: (n: number) => new Float64Array(n), outType: Float64Array };
  if (input instanceof Float32Array) {
    if (from !== undefined) throw badArgument('`from` applies only to a Uint16Array input');
    if (to === 'bf16') return { direction: Direction.f32ToBf16, ...u16 };
    if (to === 'f16') return { direction: Direction.f32ToF16, ...u16 };
    if (to === 'f64') return { direction: Direction.f32ToF64, ...f64 };
    return { direction: Direction.f32ToF32, ...f32 };
  }
  if (input instanceof Uint16Array) {
    if (from === undefined) throw badArgument("a Uint16Array input needs `from: 'bf16' | 'f16'` to say what its bits are");
    if (to !== 'f32') throw badArgument(`a ${from} input converts to 'f32' only (got to: '${to}')`);
    return { direction: from === 'bf16' ? Direction.bf16ToF32 : Direction.f16ToF32, ...f32 };
  }
  if (input instanceof Float64Array) {
    if (from !== undefined) throw badArgument('`from` applies only to a Uint16Array input');
    if (to !== 'f32') throw badArgument(`a Float64Array converts to 'f32' only (got to: '${to}')`);
    return { direction: Direction.f64ToF32, ...f32 };
  }
  throw badArgument(`input must be a Float32Array, Float64Array or Uint16Array, not ${typeName(input)}`);
}

let pathsCache: ReturnType<ReturnType<typeof native>['castPaths']> | undefined;
function nativePaths() {
  pathsCache ??= native().castPaths();
  return pathsCache;
}

/** Every CPU path compiled into the addon and whether this CPU runs it; `default` is the one used. */
export function castPaths(): { paths: CastPath[]; default: string | null } {
  const paths = nativePaths();
  return { paths: paths.paths.map((p) => ({ ...p })), default: paths.default ?? null };
}

function pathIndex(name: string | undefined): number {
  const paths = nativePaths();
  if (name === undefined) {
    if (paths.defaultError) throw badArgument(paths.defaultError);
    return -1;
  }
  const index = paths.paths.findIndex((p) => p.name === name);
  if (index < 0) throw badArgument(`unknown path ${JSON.stringify(name)} (expected one of ${paths.paths.map((p) => p.name).join(', ')})`);
  if (!paths.paths[index].supported) {
    throw new JouleError('JOULE_BACKEND_UNAVAILABLE', `cast: path ${name} is not supported by this CPU`);
  }
  return index;
}

function overlaps(a: ArrayBufferView, b: ArrayBufferView): boolean {
  if (a.buffer !== b.buffer) return false;
  return a.byteOffset < b.byteOffset + b.byteLength && b.byteOffset < a.byteOffset + a.byteLength;
}

function nativeArgs(input: CastArray, options: CastOptions, wantOut: boolean, wantStats: boolean): { args: NativeCastArgs; out: CastArray | null } {
  const p = plan(input, options);
  let out: CastArray | null = null;
  if (options.out !== undefined) {
    if (!(options.out instanceof p.outType)) {
      throw badArgument(`out must be a ${p.outType.name} for this cast, not ${typeName(options.out)}`);
    }
    if (options.out.length !== input.length) {
      throw badArgument(`out has ${options.out.length} elements, the input ${input.length}`, { expected: input.length, actual: options.out.length });
    }
    // In place is fine only element for element (an f32 scaled copy onto itself); any other overlap
    // would let one thread's writes clobber another's unread input.
    const identical = options.out.buffer === input.buffer && options.out.byteOffset === input.byteOffset && options.out.byteLength === input.byteLength;
    if (overlaps(options.out, input) && !(identical && p.direction === Direction.f32ToF32)) {
      throw badArgument('out overlaps the input (only an f32 → f32 scaling may write onto its own input)');
    }
    out = options.out;
  } else if (wantOut) {
    out = p.make(input.length);
  }
  const scale = options.scale ?? 1;
  if (typeof scale !== 'number' || !Number.isFinite(scale) || scale === 0 || !Number.isFinite(Math.fround(scale)) || Math.fround(scale) === 0) {
    throw badArgument(`scale must be a finite, non-zero number in float32 range (got ${String(scale)})`);
  }
  const threads = options.threads ?? 0;
  if (!Number.isInteger(threads) || threads < 0 || threads > 256) throw badArgument(`threads must be an integer from 1 to 256 (got ${String(threads)})`);
  return { args: [p.direction, input, out, scale, pathIndex(options.path), threads, wantStats], out };
}

function toStats(raw: NativeCastStats | undefined, count: number): CastStats {
  if (!raw) throw new JouleError('JOULE_NATIVE_ERROR', 'cast: the addon returned no statistics');
  return {
    relError: raw.relError,
    underflow: raw.underflow,
    overflow: raw.overflow,
    nonFinite: raw.nonFinite,
    sumSquaredError: raw.sumSquaredError,
    sumSquared: raw.sumSquared,
    count,
  };
}

function nativeError(error: unknown): never {
  if (error instanceof JouleError) throw error;
  throw new JouleError('JOULE_NATIVE_ERROR', `cast: ${(error as Error).message}`, { libraryError: (error as Error).message });
}

/**
 * Converts on the calling thread: Float32Array → Uint16Array of bf16/f16 bits (or a Float64Array, or a
 * scaled Float32Array), a Uint16Array read as `from` → Float32Array, a Float64Array → Float32Array.
 * Large arrays are split over the native pool, but the call still blocks; use castAsync in a loop that
 * must keep the event loop free.
 */
export function cast(input: Float32Array, options: CastOptions & { to: 'bf16' | 'f16' }): Uint16Array;
export function cast(input: Float32Array, options: CastOptions & { to: 'f64' }): Float64Array;
export function cast(input: CastArray, options: CastOptions & { to: 'f32' }): Float32Array;
export function cast(input: CastArray, options: CastOptions): CastArray;
export function cast(input: CastArray, options: CastOptions): CastArray {
  const { args, out } = nativeArgs(input, options, true, false);
  try {
    native().castSync(...args);
  } catch (error) {
    nativeError(error);
  }
  return out as CastArray;
}

/** cast() on a worker thread: neither array may be read or written until the promise settles. */
export function castAsync(input: Float32Array, options: CastOptions & { to: 'bf16' | 'f16' }): Promise<Uint16Array>;
export function castAsync(input: Float32Array, options: CastOptions & { to: 'f64' }): Promise<Float64Array>;
export function castAsync(input: CastArray, options: CastOptions & { to: 'f32' }): Promise<Float32Array>;
export function castAsync(input: CastArray, options: CastOptions): Promise<CastArray>;
export async function castAsync(input: CastArray, options: CastOptions): Promise<CastArray> {
  const { args, out } = nativeArgs(input, options, true, false);
  try {
    await native().castAsync(...args);
  } catch (error) {
    nativeError(error);
  }
  return out as CastArray;
}

/**
 * The statistics of casting `input` as `options` says, gathered in the same pass as the cast; the cast
 * result goes to `options.out` when given (so one pass both casts and measures) and nowhere otherwise.
 */
export function castStats(input: CastArray, options: CastOptions): CastStats {
  const { args } = nativeArgs(input, options, false, true);
  try {
    return toStats(native().castSync(...args), input.length);
  } catch (error) {
    return nativeError(error);
  }
}

/** castStats() on a worker thread. */
export async function castStatsAsync(input: CastArray, options: CastOptions): Promise<CastStats> {
  const { args } = nativeArgs(input, options, false, true);
  try {
    return toStats(await native().castAsync(...args), input.length);
  } catch (error) {
    return nativeError(error);
  }
}

/** Internal (the benchmark and the CUDA twin): checks the arguments and returns the native ones and the output. */
export function castArgs(input: CastArray, options: CastOptions, wantStats = false): { args: NativeCastArgs; out: CastArray | null } {
  return nativeArgs(input, options, !wantStats, wantStats);
}

/** Internal: turns what the addon returned into CastStats, or a native error into a JouleError. */
export { toStats, nativeError };
