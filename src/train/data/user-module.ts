// A user's own loader as a data set: `module:<file.js>` exports a function that returns a Dataset.
import * as path from 'path';
import { pathToFileURL } from 'url';
import * as tf from '@tensorflow/tfjs';
import { JouleError } from '../../errors';
import type { Batch, Dataset, DatasetOptions } from './index';

/**
 * What a loader module's default export receives. `tf` is joule's own tfjs: make the batch tensors with it (a
 * second copy of tfjs loaded by the module would be a different engine, whose tensors joule cannot use).
 */
export interface DatasetModuleArguments extends DatasetOptions {
  tf: typeof tf;
}

/**
 * A loader module (CommonJS `module.exports = fn` or ES `export default fn`) exports a function, possibly async,
 * from DatasetModuleArguments to a Dataset:
 *
 *   module.exports = ({ tf, seed }) => ({
 *     name: 'my-data', task: 'classification', sampleShape: [32, 32, 3], numClasses: 10,
 *     trainSize: 50000, testSize: 10000, source: '/data/cifar10', licence: 'see /data/cifar10/LICENSE',
 *     batch: (split, indices) => ({ x: tf.tensor4d(...), labels: tf.tensor1d(..., 'int32'), size: indices.length }),
 *   });
 *
 * batch(split, indices) must return exactly the samples asked for, the same ones for the same indices every
 * time, reading no more than it needs (each rank asks only for its shard). Labels: int32 [n] class numbers for
 * 'classification'; int32 [n, seqLength] for 'masked-lm', the original token at masked positions and -1 elsewhere.
 * joule checks the object and every batch's shapes, and reports a mismatch as JOULE_BAD_DATA.
 */
export async function loadUserModule(file: string, options: DatasetOptions): Promise<Dataset> {
  const name = `module:${file}`;
  const resolved = path.resolve(file);
  let exported: unknown;
  try {
    // A real import() (tsc turns import() into require()), so ES modules load too.
    const dynamicImport = new Function('specifier', 'return import(specifier)') as (specifier: string) => Promise<Record<string, unknown>>;
    const loaded = await dynamicImport(pathToFileURL(resolved).href);
    exported = loaded.default;
    // A transpiled module sets exports.default, which import() wraps once more.
    if (typeof exported !== 'function' && typeof (exported as { default?: unknown } | undefined)?.default === 'function') exported = (exported as { default: unknown }).default;
  } catch (error) {
    throw new JouleError('JOULE_BAD_DATA', `${name}: cannot load ${resolved}: ${(error as Error).message}`, { dataset: name, file: resolved });
  }
  if (typeof exported !== 'function') throw new JouleError('JOULE_BAD_DATA', `${name}: ${resolved} must export a function returning a Dataset (module.exports = fn, or export default fn); it exports ${typeof exported}`, { dataset: name });
  let dataset: Dataset;
  try {
    dataset = (await (exported as (args: DatasetModuleArguments) => unknown)({ ...options, tf })) as Dataset;
  } catch (error) {
    throw new JouleError('JOULE_BAD_DATA', `${name}: its exported function failed: ${(error as Error)?.message ?? String(error)}`, { dataset: name });
  }
  checkDataset(name, dataset);
  return checkedBatches(name, dataset);
}

function checkDataset(name: string, dataset: Dataset): void {
  const isCount = (n: unknown, min: number) => typeof n === 'number' && Number.isInteger(n) && n >= min;
  const problems: string[] = [];
  if (typeof dataset !== 'object' || dataset === null) {
    problems.push(`it returned ${dataset === null ? 'null' : typeof dataset}, not an object`);
  } else {
    if (typeof dataset.name !== 'string') problems.push('name must be a string');
    if (dataset.task !== 'classification' && dataset.task !== 'masked-lm') problems.push(`task must be 'classification' or 'masked-lm', not ${JSON.stringify(dataset.task)}`);
    if (!Array.isArray(dataset.sampleShape) || dataset.sampleShape.length === 0 || !dataset.sampleShape.every((d) => isCount(d, 1))) problems.push('sampleShape must be an array of positive whole numbers');
    if (dataset.task === 'masked-lm' && Array.isArray(dataset.sampleShape) && dataset.sampleShape.length !== 1) problems.push('a masked-lm sampleShape is [seqLength]');
    if (!isCount(dataset.numClasses, 2)) problems.push('numClasses must be a whole number ≥ 2');
    if (!isCount(dataset.trainSize, 1)) problems.push('trainSize must be a whole number ≥ 1');
    if (!isCount(dataset.testSize, 0)) problems.push('testSize must be a whole number ≥ 0');
    if (typeof dataset.source !== 'string' || typeof dataset.licence !== 'string') problems.push('source and licence must be strings (where the data came from, and its terms)');
    if (typeof dataset.batch !== 'function') problems.push('batch(split, indices) must be a function');
  }
  if (problems.length > 0) throw new JouleError('JOULE_BAD_DATA', `${name}: the data set it returned is not usable: ${problems.join('; ')}`, { dataset: name });
}

/** The module's data set with each batch checked against what was asked for. */
function checkedBatches(name: string, dataset: Dataset): Dataset {
  const labelShape = (n: number) => (dataset.task === 'classification' ? [n] : [n, dataset.sampleShape[0]]);
  return {
    ...dataset,
    batch(split: 'train' | 'test', indices: number[]): Batch {
      const batch = dataset.batch(split, indices);
      const problems: string[] = [];
      const shapeOf = (t: unknown) => (t instanceof tf.Tensor ? `[${t.shape.join(', ')}]` : 'not a tensor of joule\'s tfjs (use the tf passed to the module)');
      const expectX = [indices.length, ...dataset.sampleShape];
      if (!(batch?.x instanceof tf.Tensor) || JSON.stringify(batch.x.shape) !== JSON.stringify(expectX)) problems.push(`x is ${shapeOf(batch?.x)}, expected [${expectX.join(', ')}]`);
      const expectLabels = labelShape(indices.length);
      if (!(batch?.labels instanceof tf.Tensor) || batch.labels.dtype !== 'int32' || JSON.stringify(batch.labels.shape) !== JSON.stringify(expectLabels)) {
        problems.push(`labels is ${shapeOf(batch?.labels)}${batch?.labels instanceof tf.Tensor ? ` ${batch.labels.dtype}` : ''}, expected int32 [${expectLabels.join(', ')}]`);
      }
      if (batch?.size !== indices.length) problems.push(`size is ${batch?.size}, expected ${indices.length}`);
      if (problems.length > 0) {
        for (const t of [batch?.x, batch?.labels]) if (t instanceof tf.Tensor) t.dispose();
        throw new JouleError('JOULE_BAD_DATA', `${name}: batch('${split}', ${indices.length} indices) returned a wrong batch: ${problems.join('; ')}`, { dataset: name, split });
      }
      return batch;
    },
  };
}
