// The data sets joule trains on, by name: built-in ones, a folder of .npy arrays, or a user's loader module.
import * as tf from '@tensorflow/tfjs';
import { JouleError } from '../../errors';
import { loadBrown } from './brown';
import { loadMnist } from './mnist';
import { loadNpy } from './npy';
import { loadSyntheticImages } from './synthetic-images';
import { loadSyntheticTokens } from './synthetic-tokens';
import { loadUserModule } from './user-module';

export type { DatasetModuleArguments } from './user-module';

export interface Batch {
  /** [n, ...sampleShape]: float32 images or int32 token ids. */
  x: tf.Tensor;
  /** int32: [n] classes, or [n, seqLength] tokens for masked-lm with -1 where nothing is masked. */
  labels: tf.Tensor;
  size: number;
}

export interface Dataset {
  name: string;
  task: 'classification' | 'masked-lm';
  sampleShape: number[];
  /** Classes, or the vocabulary size for masked-lm. */
  numClasses: number;
  trainSize: number;
  testSize: number;
  /** Where the data came from: package and version, file paths, 'synthetic seed 7'. */
  source: string;
  licence: string;
  /** The samples with these indices of the split, as tensors; reads only those samples (each rank its shard). */
  batch(split: 'train' | 'test', indices: number[]): Batch;
}

export interface DatasetOptions {
  /** Synthetic content, and which positions are masked (a function of seed and sample index). */
  seed: number;
  sampleShape?: number[];
  numClasses?: number;
  /** Use the first trainSize / testSize samples of each split (synthetic sets: make that many). */
  trainSize?: number;
  testSize?: number;
}

export const datasetNames: readonly string[] = ['mnist', 'synthetic-images', 'brown', 'synthetic-tokens', 'npy:<dir>', 'module:<file>'];

/** The same name and options give the same samples, bitwise; the held-out split never overlaps training. */
export async function loadDataset(name: string, options: DatasetOptions): Promise<Dataset> {
  if (name.startsWith('npy:') && name.length > 4) return loadNpy(name.slice(4), options);
  if (name.startsWith('module:') && name.length > 7) return loadUserModule(name.slice(7), options);
  switch (name) {
    case 'mnist': return loadMnist(options);
    case 'synthetic-images': return loadSyntheticImages(options);
    case 'brown': return loadBrown(options);
    case 'synthetic-tokens': return loadSyntheticTokens(options);
    default: throw new JouleError('JOULE_UNKNOWN_DATASET', `unknown dataset "${name}"; known: ${datasetNames.join(', ')}`, { dataset: name });
  }
}
