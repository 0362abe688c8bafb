// A user's own arrays as a data set: `npy:<dir>` with x.npy (float32 samples) and y.npy (integer class labels).
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { JouleError } from '../../errors';
import type { Batch, Dataset, DatasetOptions } from './index';
import { NpyFile } from './npy-file';
import { checkFixed, checkIndices, splitSize } from './checks';

/** Held out when there is no x_test.npy: the last tenth of the rows (at least one). */
const heldOutFraction = 0.1;

interface Part {
  x: NpyFile;
  /** Row numbers in x.npy / x_test.npy. */
  rows: { first: number; count: number };
}

/**
 * x.npy: [samples, ...sampleShape] float32; y.npy: [samples] int32, int64 or uint8 labels from 0. The held-out
 * split is x_test.npy + y_test.npy when both exist, else the last tenth of x.npy (or the last testSize rows). Labels
 * (a few bytes per sample) are read and checked at load; samples are read from disk batch by batch, only the
 * rows asked for. numClasses is the largest label + 1 unless given.
 */
export function loadNpy(dir: string, options: DatasetOptions): Dataset {
  const name = `npy:${dir}`;
  const file = (base: string) => path.resolve(dir, `${base}.npy`);
  if (!fs.existsSync(path.resolve(dir))) throw new JouleError('JOULE_BAD_DATA', `${name}: the folder ${path.resolve(dir)} does not exist`, { dataset: name });
  for (const base of ['x', 'y']) {
    if (!fs.existsSync(file(base))) throw new JouleError('JOULE_BAD_DATA', `${name}: ${file(base)} is missing (the folder needs x.npy and y.npy)`, { dataset: name, file: file(base) });
  }
  const hasTest = [fs.existsSync(file('x_test')), fs.existsSync(file('y_test'))];
  if (hasTest[0] !== hasTest[1]) throw new JouleError('JOULE_BAD_DATA', `${name}: ${hasTest[0] ? 'x_test.npy has no y_test.npy' : 'y_test.npy has no x_test.npy'} beside it; give both or neither`, { dataset: name });

  const x = openSamples(file('x'));
  const y = readLabels(file('y'), x);
  let train: Part;
  let test: Part;
  let testLabels: Int32Array;
  if (hasTest[0]) {
    const xTest = openSamples(file('x_test'));
    if (JSON.stringify(xTest.shape.slice(1)) !== JSON.stringify(x.shape.slice(1))) {
      throw new JouleError('JOULE_BAD_DATA', `${file('x_test')}: samples shaped [${xTest.shape.slice(1)}] differ from x.npy's [${x.shape.slice(1)}]`, { dataset: name, file: file('x_test') });
    }
    testLabels = readLabels(file('y_test'), xTest);
    train = { x, rows: { first: 0, count: splitSize(name, 'train', x.rows, options.trainSize) } };
    test = { x: xTest, rows: { first: 0, count: splitSize(name, 'test', xTest.rows, options.testSize) } };
  } else {
    if (x.rows < 2) throw new JouleError('JOULE_BAD_DATA', `${file('x')}: ${x.rows} sample cannot be split into training and held-out data; add x_test.npy and y_test.npy`, { dataset: name });
    const heldOut = splitSize(name, 'test', x.rows - 1, options.testSize ?? Math.max(1, Math.floor(x.rows * heldOutFraction)));
    const trainRows = x.rows - heldOut;
    train = { x, rows: { first: 0, count: splitSize(name, 'train', trainRows, options.trainSize) } };
    test = { x, rows: { first: trainRows, count: heldOut } };
    testLabels = y.subarray(trainRows);
  }
  const trainLabels = y.subarray(0, train.rows.count);
  testLabels = testLabels.subarray(0, test.rows.count);

  const largest = Math.max(largestOf(trainLabels), largestOf(testLabels));
  const numClasses = options.numClasses ?? largest + 1;
  if (numClasses < 2 || largest >= numClasses) {
    throw new JouleError('JOULE_BAD_DATA', `${name}: labels must lie in 0 to ${numClasses - 1} with at least 2 classes; the largest label is ${largest}`, { dataset: name });
  }
  const sampleShape = x.shape.slice(1);
  checkFixed(name, 'sampleShape', options.sampleShape, sampleShape);
  const parts = { train, test };
  const labels = { train: trainLabels, test: testLabels };

  return {
    name,
    task: 'classification',
    sampleShape,
    numClasses,
    trainSize: train.rows.count,
    testSize: test.rows.count,
    source: hasTest[0] ? `${file('x')}, ${file('y')}; held out: ${file('x_test')}, ${file('y_test')}` : `${file('x')}, ${file('y')}; held out: its last ${test.rows.count} rows`,
    licence: 'the user\'s own data',
    batch(split: 'train' | 'test', indices: number[]): Batch {
      const part = parts[split];
      checkIndices(name, split, indices, part.rows.count);
      const samples = part.x.readRows(indices.map((i) => part.rows.first + i)) as Float32Array;
      const batchLabels = Int32Array.from(indices, (i) => labels[split][i]);
      return { x: tf.tensor(samples, [indices.length, ...sampleShape]), labels: tf.tensor1d(batchLabels, 'int32'), size: indices.length };
    },
  };
}

function openSamples(file: string): NpyFile {
  const x = NpyFile.open(file);
  if (x.dtype !== 'float32') throw new JouleError('JOULE_BAD_DATA', `${file}: samples must be float32, not ${x.dtype} (e.g. np.save(path, x.astype(np.float32) / 255) for 8-bit images)`, { file });
  if (x.shape.length < 2 || x.rows === 0) throw new JouleError('JOULE_BAD_DATA', `${file}: shape (${x.shape.join(', ')}) needs at least one sample and one value per sample`, { file });
  return x;
}

function readLabels(file: string, samples: NpyFile): Int32Array {
  const y = NpyFile.open(file);
  if (y.dtype === 'float32') throw new JouleError('JOULE_BAD_DATA', `${file}: labels must be integers (int32, int64 or uint8), not float32`, { file });
  if (y.shape.length !== 1 || y.rows !== samples.rows) {
    throw new JouleError('JOULE_BAD_DATA', `${file}: shape (${y.shape.join(', ')}) must be (${samples.rows},): one class label per sample of ${path.basename(samples.file)}`, { file });
  }
  const values = y.readRows(Array.from({ length: y.rows }, (_, i) => i));
  const negative = values.findIndex((v) => v < 0);
  if (negative >= 0) throw new JouleError('JOULE_BAD_DATA', `${file}: label ${values[negative]} at row ${negative} is negative; labels are class numbers from 0`, { file });
  if (values.some((v) => v > 2 ** 31 - 1)) throw new JouleError('JOULE_BAD_DATA', `${file}: a label exceeds 2^31 − 1`, { file });
  return Int32Array.from(values);
}

function largestOf(values: Int32Array): number {
  let largest = -1;
  for (const v of values) if (v > largest) largest = v;
  return largest;
}
