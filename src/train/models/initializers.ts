// Seeded weight initializers: one generator per model build, so the same seed gives the same weights, bitwise.
import * as tf from '@tensorflow/tfjs';
import { Rng } from '../rng';

export type Initializer = ReturnType<typeof tf.initializers.glorotUniform>;

/** Weights get their own stream, apart from data order and masking, so changing one never shifts the other. */
const weightStream = 0x77e16475;

/**
 * Hands each layer its own seed, drawn in build order from (seed, weight stream). tfjs initializers given a seed
 * draw their values in JavaScript (seedrandom's alea), so the weights are the same on every backend.
 */
export class SeededInitializers {
  private readonly rng: Rng;

  constructor(seed: number) {
    this.rng = new Rng(seed, weightStream);
  }

  /** He (Kaiming) normal, fan in: for convolutions followed by ReLU. */
  he(): Initializer {
    return tf.initializers.heNormal({ seed: this.rng.nextUint32() });
  }

  /** Glorot (Xavier) uniform: the Keras default for dense layers. */
  glorot(): Initializer {
    return tf.initializers.glorotUniform({ seed: this.rng.nextUint32() });
  }

  /** Truncated normal with BERT's standard deviation 0.02. */
  bert(): Initializer {
    return tf.initializers.truncatedNormal({ stddev: 0.02, seed: this.rng.nextUint32() });
  }
}
