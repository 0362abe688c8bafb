// The one typed boundary to the native addon: the only file that loads joule.node.
import fs from 'node:fs';
import path from 'node:path';
import { checkEnv, nativeEnvNames, readEnv } from './env';
import { JouleError } from './errors';
import { packageRoot } from './paths';

export interface BackendStatus {
  usable: boolean;
  /** Why it cannot be used; absent when usable. */
  reason?: string;
  /** The shared library that was loaded, when one was. */
  library?: string;
}

export interface NativeGpu {
  index: number;
  name: string;
  uuid: string;
  powerLimitW: number | null;
  energyCounter: boolean;
}

export interface NativeGpuPowerLimit {
  index: number;
  limitW: number;
  minW: number | null;
  maxW: number | null;
  defaultW: number | null;
}

export interface NativeRaplDomain {
  path: string;
  name: string;
  parent?: string;
  maxEnergyRangeUj: number;
  readable: boolean;
  reason?: string;
}

export interface NativeCapabilities {
  nvml: BackendStatus & { driverVersion?: string; gpus: NativeGpu[] };
  nccl: BackendStatus & { version?: string };
  cuda: BackendStatus & { archs?: string; runtimeVersion?: number; devices: number };
  rapl: BackendStatus & { root: string; domains: NativeRaplDomain[] };
  shm: BackendStatus;
  tcp: BackendStatus;
  simd: string[];
}

export interface NativeBuildInfo {
  buildSystem: 'cmake-js' | 'node-gyp' | 'unknown';
  napiVersion: number;
  /** What happened to libjoule_cuda.so at build time: "built for 80-real,90 ..." or "not built: why". */
  cudaBuild: string;
  addonDir: string;
}

/** Quantization statistics of one conversion (see native/cast/convert.h for the definitions). */
export interface NativeCastStats {
  relError: number;
  sumSquaredError: number;
  sumSquared: number;
  nonFinite: number;
  overflow: number;
  underflow: number;
}

export interface NativeCastPaths {
  paths: { name: string; supported: boolean }[];
  /** The path used when none is named (the best supported, or JOULE_CAST_PATH). */
  default?: string;
  /** Why JOULE_CAST_PATH cannot be used, when it names a bad path. */
  defaultError?: string;
}

/** Arguments of the cast entry points: direction index, input, output or null, scale, path (-1 = default), threads (0 = auto), statistics wanted. */
export type NativeCastArgs = [number, ArrayBufferView, ArrayBufferView | null, number, number, number, boolean];

/** What src/power hands the native sampler (validated there; the sampler copies it). */
export interface NativePowerSamplerConfig {
  periodS: number;
  auxPeriodS: number;
  gpus: number[];
  rapl: boolean;
  powercapRoot: string;
  capacityTicks: number;
}

export interface NativePowerChannel {
  kind: 'gpu' | 'rapl' | 'process';
  label: string;
  gpuIndex?: number;
  name?: string;
  uuid?: string;
  powerLimitW?: number | null;
  /** False when the GPU's energy comes from integrating power; `energyFallback` says why. */
  energyCounter?: boolean;
  energyFallback?: string;
  path?: string;
  maxEnergyRangeUj?: number;
}

export interface NativePowerSamplerStart {
  channels: NativePowerChannel[];
  unavailable: { source: string; reason: string }[];
  /** Column names of the rows drain() returns. */
  fields: string[];
  nvmlLibrary?: string;
  driverVersion?: string;
}

export interface NativePowerSamplerStats {
  ticks: number;
  samples: number;
  overrunSamples: number;
  threadCpuTimeS: number;
  periodS: number;
  pendingSamples: number;
}

export interface NativePowerSampler {
  /** Loads NVML (when GPUs are asked for) on a worker thread, opens the channels, starts the thread. */
  start(): Promise<NativePowerSamplerStart>;
  /** Every pending sample, `fields.length` numbers each (NaN where a reading is absent). */
  drain(): Float64Array;
  /** Take a sample now rather than at the next period. */
  kick(): void;
  stats(): NativePowerSamplerStats;
  stop(): void;
}

/** What native/glue/comm.cc copies out of a communicator's configuration. */
export interface NativeShmConfig {
  backend: 'shm';
  rank: number;
  size: number;
  /** POSIX shared-memory name, "/joule.<job>.<comm>.<nonce>". */
  name: string;
  /** True on the rank that creates the segment (mode 0600); the others attach. */
  create: boolean;
  chunkBytes: number;
  smallBytes: number;
  p2pBytes: number;
}

export interface NativeTcpConfig {
  backend: 'tcp';
  rank: number;
  size: number;
  /** 32 hex digits every member presents when it connects (shared through the coordinator). */
  token: string;
  pieceBytes: number;
  smallBytes: number;
  /** Halving-doubling instead of the ring up to this size, for 4, 8, ... ranks. */
  halvingBytes: number;
}

export interface NativeNcclConfig {
  backend: 'nccl';
  rank: number;
  size: number;
  /** CUDA device index of this rank's GPU. */
  device: number;
  /** ncclUniqueId from rank 0, as 256 hex digits. */
  uniqueId: string;
}

/** One operation, with enums as the numeric codes of native/comm/types.h (src/comm/native-types.ts). */
export interface NativeOpSpec {
  kind: number;
  dtype: number;
  redop: number;
  wire: number;
  count: number;
  root: number;
  tag: number;
  timeoutS: number;
  /** What avg divides by (0 or absent: the communicator's size); shm and tcp only. */
  avgDivisor?: number;
  in?: ArrayBufferView;
  out?: ArrayBufferView;
}

export interface NativeOpResult {
  /** Elements that became ±Inf when rounded to the wire dtype from finite values, summed over ranks. */
  wireOverflows: number;
  /** Wall time of all iterations, measured on the communicator's thread. */
  seconds: number;
}

/** A communicator's native handle: its own thread runs the operations in submission order. */
export interface NativeComm {
  /** Rejects with an Error carrying `code` (JOULE_COLLECTIVE_MISMATCH, JOULE_TIMEOUT, JOULE_ABORTED, ...). */
  submit(op: NativeOpSpec, iterations?: number): Promise<NativeOpResult>;
  abort(reason: string): void;
  /** Removes the shared-memory name once every rank has mapped it. */
  unlink(): void;
  /** tcp: the port this rank listens on (0 for other backends). */
  port(): number;
  /** tcp: where every member listens; before the first operation, which connects the mesh. */
  setPeers(hosts: string[], ports: number[]): void;
  close(): void;
}

export interface NativeAddon {
  NativeComm: new (config: NativeShmConfig | NativeTcpConfig | NativeNcclConfig) => NativeComm;
  /** A new NCCL unique id as 256 hex digits (loads NCCL and the CUDA module; throws with a code). */
  ncclUniqueId(): string;
  addonVersion: string;
  PowerSampler: new (config: NativePowerSamplerConfig) => NativePowerSampler;
  buildInfo(): NativeBuildInfo;
  /** Loads NVML, NCCL and the CUDA module (once per process) on a worker thread and probes the rest. */
  capabilities(): Promise<NativeCapabilities>;
  castPaths(): NativeCastPaths;
  castSync(...args: NativeCastArgs): NativeCastStats | undefined;
  /** The same conversion on a worker thread; the arrays must not be touched until it settles. */
  castAsync(...args: NativeCastArgs): Promise<NativeCastStats | undefined>;
  /** Runs the conversion `iterations` times on a worker thread; resolves to the seconds they took. */
  castBench(...args: [...NativeCastArgs, number]): Promise<number>;
  /** memcpy of source.byteLength bytes, `iterations` times, split like the casts; resolves to seconds. */
  copyBench(source: ArrayBufferView, target: ArrayBufferView, iterations: number, threads: number): Promise<number>;
  /**
   * The host-staged CUDA cast (libjoule_cuda.so). Path and threads are ignored. Rejects with `code`
   * JOULE_BACKEND_UNAVAILABLE (no module or no GPU) or JOULE_NATIVE_ERROR (a CUDA call failed).
   */
  cudaCast(...args: NativeCastArgs): Promise<NativeCastStats | undefined>;
  /** Device-buffer benchmark: seconds for `iterations` kernels and for as many device-to-device copies of the same bytes. */
  cudaCastBench(direction: number, count: number, scale: number, iterations: number): Promise<{ castS: number; copyS: number }>;
  /** The CPUs this process may run on (its affinity mask). */
  allowedCpus(): number[];
  /** Binds every thread of this process to `cpus`; returns how many threads it bound. */
  bindProcess(cpus: number[]): number;
  /**
   * GPU `index`'s power management limit (W) with NVML's bounds and default (null where NVML cannot say);
   * with `setW`, sets the limit first. Rejects with JOULE_BACKEND_UNAVAILABLE (no NVML) or
   * JOULE_NATIVE_ERROR (the NVML call's error, e.g. Insufficient Permissions).
   */
  gpuPowerLimit(index: number, setW?: number): Promise<NativeGpuPowerLimit>;
  /**
   * Training kernels (native/train), NHWC, on the calling thread, writing `out` in place (tfjs-wasm heap views
   * work). `shape`: the 15 fields of NativeConvShape in order (see src/train/backend/conv-shape.ts). Bad
   * arguments throw with code JOULE_BAD_ARGUMENT.
   */
  conv2d(shape: Int32Array, x: Float32Array, filter: Float32Array, y: Float32Array): void;
  conv2dBackpropInput(shape: Int32Array, dy: Float32Array, filter: Float32Array, dx: Float32Array): void;
  conv2dBackpropFilter(shape: Int32Array, x: Float32Array, dy: Float32Array, dFilter: Float32Array): void;
  depthwiseConv2dBackpropInput(shape: Int32Array, dy: Float32Array, filter: Float32Array, dx: Float32Array): void;
  depthwiseConv2dBackpropFilter(shape: Int32Array, x: Float32Array, dy: Float32Array, dFilter: Float32Array): void;
  /** out[s] = sum of the rows of x whose id is s (ids outside [0, numSegments) dropped); out's type is x's. */
  unsortedSegmentSum<T extends Float32Array | Int32Array>(x: T, segmentIds: Int32Array, numSegments: number, out: T): void;
  /** out = x (of `shape`) repeated reps[d] times along each axis d, as tf.tile; out's type is x's. */
  tile<T extends ArrayBufferView>(x: T, shape: Int32Array, reps: Int32Array, out: T): void;
  /** out[j] = the sum of column j over x's rows of `width` elements (float64 accumulation). */
  sumRows(x: Float32Array, width: number, out: Float32Array): void;
  /** out = full op perChannel (perChannel op full when channelFirst), perChannel repeated over full's rows; op 0 add, 1 sub, 2 mul. */
  channelBinary(op: number, full: Float32Array, perChannel: Float32Array, channelFirst: boolean, out: Float32Array): void;
  /** out = (x − mean) / sqrt(variance + epsilon) · scale + offset, per channel (the last axis); null scale = 1, offset = 0. */
  batchNorm(x: Float32Array, mean: Float32Array, variance: Float32Array, offset: Float32Array | null, scale: Float32Array | null, epsilon: number, out: Float32Array): void;
}

/** The paths tried, in order: JOULE_ADDON alone when set, else the cmake-js/node-gyp outputs. */
export function addonCandidates(env: NodeJS.ProcessEnv = process.env): string[] {
  const addon = readEnv('JOULE_ADDON', env);
  if (addon) return [path.resolve(addon)];
  return ['Release', 'Debug'].map((config) => path.join(packageRoot, 'build', config, 'joule.node'));
}

let loaded: NativeAddon | undefined;

export function native(): NativeAddon {
  if (loaded) return loaded;
  // Native code reads these with getenv: a bad value is refused here, with its name, before it can be.
  checkEnv(nativeEnvNames);
  const failures: string[] = [];
  for (const candidate of addonCandidates()) {
    if (!fs.existsSync(candidate)) {
      failures.push(`${candidate}: not found`);
      continue;
    }
    try {
      loaded = require(candidate) as NativeAddon;
      return loaded;
    } catch (error) {
      failures.push(`${candidate}: ${(error as Error).message}`);
    }
  }
  throw new JouleError(
    'JOULE_ADDON_LOAD_FAILED',
    `joule: cannot load the native addon.\n  Tried:\n    ${failures.join('\n    ')}\n` +
      `  Rebuild it with \`npm rebuild joule\` (or \`npm run build:native\` in a checkout, or ` +
      '`npx cmake-js rebuild`); without CMake, `npm run build:gyp` builds the CPU-only addon.',
    { libraryError: failures.join('; ') },
  );
}
