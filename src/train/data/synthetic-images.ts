// Seeded synthetic images of any shape and class count: a fixed pattern per class under heavy noise, so a model can learn them.
import * as tf from '@tensorflow/tfjs';
import { Rng } from '../rng';
import type { Batch, Dataset, DatasetOptions } from './index';
import { checkIndices, checkSyntheticOptions } from './checks';

export const syntheticImageDefaults = { sampleShape: [28, 28, 1], numClasses: 10, trainSize: 8192, testSize: 1024 };

/** Weight of the class pattern in a pixel; the rest is uniform noise, so single pixels say little. */
const signal = 0.4;
const patternStream = 0x9a77e2;

/**
 * Sample i of a split: its label and noise come from (seed, split, i) alone, so any rank can make any sample
 * without the others; the class patterns come from the seed. Pixels lie in [0, 1].
 */
export function loadSyntheticImages(options: DatasetOptions): Dataset {
  const sampleShape = options.sampleShape ?? syntheticImageDefaults.sampleShape;
  const numClasses = options.numClasses ?? syntheticImageDefaults.numClasses;
  const sizes = { train: options.trainSize ?? syntheticImageDefaults.trainSize, test: options.testSize ?? syntheticImageDefaults.testSize };
  checkSyntheticOptions('synthetic-images', { sampleShape, numClasses, sizes, minClasses: 2 });
  const sampleElements = sampleShape.reduce((p, d) => p * d, 1);

  const patterns = new Float32Array(numClasses * sampleElements);
  const patternRng = new Rng(options.seed, patternStream);
  for (let i = 0; i < patterns.length; i++) patterns[i] = patternRng.nextUint32() / 2 ** 32;

  return {
    name: 'synthetic-images',
    task: 'classification',
    sampleShape,
    numClasses,
    trainSize: sizes.train,
    testSize: sizes.test,
    source: `synthetic seed ${options.seed}`,
    licence: 'none needed (generated)',
    batch(split: 'train' | 'test', indices: number[]): Batch {
      checkIndices('synthetic-images', split, indices, sizes[split]);
      const x = new Float32Array(indices.length * sampleElements);
      const labels = new Int32Array(indices.length);
      indices.forEach((index, i) => {
        const rng = new Rng(options.seed, index * 4 + (split === 'train' ? 0 : 1));
        const label = rng.below(numClasses);
        labels[i] = label;
        const pattern = patterns.subarray(label * sampleElements, (label + 1) * sampleElements);
        for (let j = 0; j < sampleElements; j++) x[i * sampleElements + j] = signal * pattern[j] + (1 - signal) * (rng.nextUint32() / 2 ** 32);
      });
      return { x: tf.tensor(x, [indices.length, ...sampleShape]), labels: tf.tensor1d(labels, 'int32'), size: indices.length };
    },
  };
}
