// Data-parallel gradient exchange: gradients copied out of tfjs into one flat array, cut into fused
// buckets, and each bucket's allreduce (avg, at the policy's wire precision) started as soon as it is
// filled, so copying the next bucket overlaps the wire time of the previous one.
import type * as tf from '@tensorflow/tfjs';
import type { Communicator } from '../comm/communicator';
import { isJouleError } from '../errors';
import { castStats, type CastStats } from '../precision/cast';
import type { Precision } from '../precision/policy';
import type { WeightSlot } from './weights';

export interface SyncOptions {
  /** Multiply the gradients by this before the wire (loss scale ÷ accumulation steps); 1 skips the pass. */
  preScale: number;
  wire: Precision;
  /** Gather cast statistics of the gradients at the wire precision (the adaptive policy's evidence). */
  wireStats: boolean;
  /**
   * A loss scaler checks the result: values that overflowed the wire format arrive as ±Inf, which makes the
   * scaler skip the step, instead of failing the job with JOULE_WIRE_OVERFLOW (every rank sees the same sum).
   */
  overflowSkips: boolean;
}

export interface SyncResult {
  /** Bytes this rank handed the wire (the buffer at wire precision; the backend's own traffic is more). */
  wireBytes: number;
  buckets: number;
  stats: CastStats | null;
}

export class GradientSync {
  /** The gradients summed over this step's micro-steps, then averaged over ranks. */
  readonly grads: Float32Array;
  private readonly bucketElements: number;

  constructor(private readonly slots: readonly WeightSlot[], size: number, bucketBytes: number, private readonly comm: Communicator | null) {
    this.grads = new Float32Array(size);
    this.bucketElements = Math.max(1, Math.floor(bucketBytes / 4));
  }

  /** Adds one micro-step's gradients (tensors in slot order) into `grads`; the first micro-step overwrites. */
  add(tensors: readonly tf.Tensor[], first: boolean): void {
    tensors.forEach((tensor, i) => this.copyIn(tensor, this.slots[i], first));
  }

  /**
   * The last micro-step: copies its gradients in and averages `grads` over the ranks bucket by bucket,
   * each bucket's allreduce started as soon as its gradients are in place. Every rank calls this with the
   * same options at the same step (they come from the policy's decision, which every rank shares).
   */
  async addAndSync(tensors: readonly tf.Tensor[], first: boolean, options: SyncOptions): Promise<SyncResult> {
    const pending: Promise<void>[] = [];
    const stats: CastStats[] = [];
    let bucketStart = 0;
    const launch = (end: number) => {
      const bucket = this.grads.subarray(bucketStart, end);
      if (options.preScale !== 1) for (let i = 0; i < bucket.length; i++) bucket[i] *= options.preScale;
      if (options.wireStats && options.wire !== 'f32') stats.push(castStats(bucket, { to: options.wire }));
      if (this.comm) pending.push(this.comm.allreduce(bucket, { op: 'avg', wire: options.wire === 'f32' ? 'native' : options.wire }).catch((error: unknown) => {
        if (!(options.overflowSkips && isJouleError(error) && error.code === 'JOULE_WIRE_OVERFLOW')) throw error;
      }));
      bucketStart = end;
    };
    tensors.forEach((tensor, i) => {
      const slot = this.slots[i];
      this.copyIn(tensor, slot, first);
      const filled = slot.offset + slot.size;
      while (filled - bucketStart >= this.bucketElements) launch(bucketStart + this.bucketElements);
    });
    if (bucketStart < this.grads.length) launch(this.grads.length);
    await Promise.all(pending);
    const bytesPerElement = options.wire === 'f32' ? 4 : 2;
    return { wireBytes: this.comm ? this.grads.length * bytesPerElement : 0, buckets: pending.length, stats: stats.length ? combineStats(stats) : null };
  }

  private copyIn(tensor: tf.Tensor, slot: WeightSlot, first: boolean): void {
    const data = tensor.dataSync() as Float32Array;
    if (first) this.grads.set(data, slot.offset);
    else for (let i = 0; i < slot.size; i++) this.grads[slot.offset + i] += data[i];
  }
}

/** Statistics of several buckets as if of one array (relError = √(ΣSSE / ΣSS), as the cast defines it). */
export function combineStats(parts: readonly CastStats[]): CastStats {
  const sum = (key: keyof CastStats) => parts.reduce((total, p) => total + p[key], 0);
  const sumSquaredError = sum('sumSquaredError');
  const sumSquared = sum('sumSquared');
  return {
    relError: sumSquared > 0 ? Math.sqrt(sumSquaredError / sumSquared) : 0,
    underflow: sum('underflow'),
    overflow: sum('overflow'),
    nonFinite: sum('nonFinite'),
    sumSquaredError,
    sumSquared,
    count: sum('count'),
  };
}
