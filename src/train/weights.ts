// The model's weights as one flat float32 array (the master copy the optimizer updates and the wire
// carries), with views per variable, and the way back into the tfjs variables.
import * as tf from '@tensorflow/tfjs';
import { cast } from '../precision/cast';
import type { HalfDType } from '../precision/cast';

export interface WeightSlot {
  name: string;
  shape: number[];
  offset: number;
  size: number;
}

/** Packs `variables` into one Float32Array in their order; `upload()` writes it back into them. */
export class FlatWeights {
  readonly slots: WeightSlot[];
  readonly values: Float32Array;

  constructor(readonly variables: tf.Variable[]) {
    let offset = 0;
    this.slots = variables.map((v) => {
      const slot = { name: v.name, shape: v.shape.slice(), offset, size: v.size };
      offset += v.size;
      return slot;
    });
    this.values = new Float32Array(offset);
    this.download();
  }

  get size(): number {
    return this.values.length;
  }

  /** Reads the variables' current values into the flat array (after the framework changed them). */
  download(): void {
    this.variables.forEach((v, i) => this.values.set(v.dataSync() as Float32Array, this.slots[i].offset));
  }

  /**
   * Writes the flat array into the variables; with `roundTo`, each value rounded to that 16-bit format
   * first (compute-precision emulation: the master copy stays float32).
   */
  upload(roundTo?: HalfDType): void {
    const source = roundTo ? cast(cast(this.values, { to: roundTo }), { to: 'f32', from: roundTo }) : this.values;
    this.variables.forEach((v, i) => {
      const { offset, size, shape } = this.slots[i];
      const value = tf.tensor(source.subarray(offset, offset + size), shape, 'float32');
      v.assign(value);
      value.dispose();
    });
  }
}

/** FNV-1a over the bytes of `values`: equal weights give equal checksums, bitwise. */
export function checksum(values: Float32Array): number {
  const bytes = new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
  let hash = 0x811c9dc5;
  for (let i = 0; i < bytes.length; i++) {
    hash ^= bytes[i];
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}
