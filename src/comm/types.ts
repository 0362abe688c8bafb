// The communicator API's public types: buffers, dtypes, ops, options, and the part of World it needs.
import type { World } from '../world/types';

export type DType = 'f32' | 'f64' | 'i32' | 'i64' | 'bf16' | 'f16';
export type ReduceOp = 'sum' | 'avg' | 'max' | 'min' | 'prod';
/** The dtype bytes travel in during a float32 reduction ('bf16' or 'f16' halve the bytes). */
export type WirePrecision = 'native' | 'bf16' | 'f16';
export type BackendName = 'auto' | 'shm' | 'tcp' | 'nccl';

/** Buffers a collective accepts; a Uint16Array holds bf16 or f16 bits and needs `dtype` to say which. */
export type CommBuffer = Float32Array | Float64Array | Int32Array | BigInt64Array | Uint16Array;

/** What a communicator needs from the rank runtime: identity, key-value rendezvous, abort. */
export type CommWorld = Pick<World, 'rank' | 'size' | 'host' | 'nodeRank' | 'nodes' | 'runDir' | 'gpus' | 'kv' | 'onAbort' | 'setActivity'>;

export interface CommonOptions {
  /** Required for Uint16Array buffers: whether the bits are bf16 or f16. */
  dtype?: 'bf16' | 'f16';
  /** Seconds to wait for the other ranks before failing with JOULE_TIMEOUT (default: the communicator's). */
  timeoutS?: number;
}

export interface ReduceOptions extends CommonOptions {
  op?: ReduceOp;
  /** Where the result goes (out-of-place); the input is left unchanged. Default: in place. */
  out?: CommBuffer;
  /** Float32Array only: the dtype bytes travel in; reduction steps accumulate in float32. */
  wire?: WirePrecision;
}

export interface CommunicatorOptions {
  backend?: BackendName;
  /** Default per-operation timeout in seconds (300). */
  timeoutS?: number;
  /** shm tuning: bytes per rank per pipeline stage, and the size up to which reductions take one step. */
  shmChunkBytes?: number;
  shmSmallBytes?: number;
}
