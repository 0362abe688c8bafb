// Seeded synthetic token sequences for masked-token training: a random successor rule plus noise, so context predicts a hidden token.
import * as tf from '@tensorflow/tfjs';
import { Rng } from '../rng';
import type { Batch, Dataset, DatasetOptions } from './index';
import { firstWordId, maskingRng, maskSequence, specialTokenNames } from './masking';
import { checkIndices, checkSyntheticOptions } from './checks';

export const syntheticTokenDefaults = { seqLength: 32, vocabSize: 1024, trainSize: 8192, testSize: 1024 };

/** How often a token is its predecessor's fixed successor; otherwise it is drawn uniformly. */
const followsRule = 0.8;
const ruleStream = 0x70c3e5;

export function loadSyntheticTokens(options: DatasetOptions): Dataset {
  const sampleShape = options.sampleShape ?? [syntheticTokenDefaults.seqLength];
  const vocabSize = options.numClasses ?? syntheticTokenDefaults.vocabSize;
  const sizes = { train: options.trainSize ?? syntheticTokenDefaults.trainSize, test: options.testSize ?? syntheticTokenDefaults.testSize };
  // The special tokens plus at least two words.
  checkSyntheticOptions('synthetic-tokens', { sampleShape, numClasses: vocabSize, sizes, minClasses: firstWordId + 2, rank: 1 });
  const seqLength = sampleShape[0];
  const words = vocabSize - firstWordId;

  const ruleRng = new Rng(options.seed, ruleStream);
  const successor = Int32Array.from({ length: words }, () => firstWordId + ruleRng.below(words));

  return {
    name: 'synthetic-tokens',
    task: 'masked-lm',
    sampleShape: [seqLength],
    numClasses: vocabSize,
    trainSize: sizes.train,
    testSize: sizes.test,
    source: `synthetic seed ${options.seed} (vocabulary ${specialTokenNames.join(' ')} + ${words} words)`,
    licence: 'none needed (generated)',
    batch(split: 'train' | 'test', indices: number[]): Batch {
      checkIndices('synthetic-tokens', split, indices, sizes[split]);
      const input = new Int32Array(indices.length * seqLength);
      const labels = new Int32Array(indices.length * seqLength);
      const tokens = new Int32Array(seqLength);
      indices.forEach((index, i) => {
        const rng = new Rng(options.seed, index * 4 + (split === 'train' ? 0 : 1));
        tokens[0] = firstWordId + rng.below(words);
        for (let p = 1; p < seqLength; p++) {
          tokens[p] = rng.nextUint32() < followsRule * 2 ** 32 ? successor[tokens[p - 1] - firstWordId] : firstWordId + rng.below(words);
        }
        maskSequence(tokens, vocabSize, maskingRng(options.seed, split, index), input, labels, i * seqLength);
      });
      const shape: [number, number] = [indices.length, seqLength];
      return { x: tf.tensor2d(input, shape, 'int32'), labels: tf.tensor2d(labels, shape, 'int32'), size: indices.length };
    },
  };
}
