// The models joule trains, by name: built with seeded weights, with their parameters and FLOPs per layer.
import * as tf from '@tensorflow/tfjs';
import { JouleError } from '../../errors';
import { bertMiniDefaults, buildBertMini } from './bert';
import { LayerCost, layerCosts, totalCost } from './cost';
import { buildMlp } from './mlp';
import { buildResNet, resnetLayouts } from './resnet';

export type { LayerCost } from './cost';
export { lossAndCorrect } from './loss';

export interface ModelSpec {
  name: string;
  task: 'classification' | 'masked-lm';
  /** Per sample: [height, width, channels] for images, [seqLength] for token sequences. */
  inputShape: number[];
  /** Classes, or the vocabulary size for masked-lm. */
  numClasses: number;
  /** Returns logits (no softmax). Same seed → same weights, bitwise. */
  model: tf.LayersModel;
  /** Trainable parameters. */
  parameters: number;
  /** Forward FLOPs per sample (a multiply-add counts 2). */
  flopsPerSample: number;
  /** In forward order: pipeline stages are cut between these. */
  layers: LayerCost[];
}

export interface BuildOptions {
  seed: number;
  inputShape?: number[];
  numClasses?: number;
}

interface ModelDefinition {
  task: ModelSpec['task'];
  inputShape: number[];
  numClasses: number;
  build(inputShape: number[], numClasses: number, seed: number): tf.LayersModel;
}

const mnistShape = [28, 28, 1];
const imagenetShape = [224, 224, 3];

const definitions: Record<string, ModelDefinition> = {
  mlp: { task: 'classification', inputShape: mnistShape, numClasses: 10, build: buildMlp },
  'resnet-mini': {
    task: 'classification', inputShape: mnistShape, numClasses: 10,
    build: (shape, classes, seed) => buildResNet(resnetLayouts['resnet-mini'], shape, classes, seed),
  },
  resnet18: {
    task: 'classification', inputShape: imagenetShape, numClasses: 1000,
    build: (shape, classes, seed) => buildResNet(resnetLayouts.resnet18, shape, classes, seed),
  },
  resnet50: {
    task: 'classification', inputShape: imagenetShape, numClasses: 1000,
    build: (shape, classes, seed) => buildResNet(resnetLayouts.resnet50, shape, classes, seed),
  },
  'bert-mini': {
    task: 'masked-lm', inputShape: [bertMiniDefaults.seqLength], numClasses: bertMiniDefaults.vocabSize,
    build: (shape, vocabSize, seed) => buildBertMini(shape[0], vocabSize, seed),
  },
};

export const modelNames: readonly string[] = Object.keys(definitions);

function definitionOf(name: string): ModelDefinition {
  const definition = Object.prototype.hasOwnProperty.call(definitions, name) ? definitions[name] : undefined;
  if (!definition) throw new JouleError('JOULE_UNKNOWN_MODEL', `unknown model "${name}"; known models: ${modelNames.join(', ')}`, { model: name });
  return definition;
}

/** A model's task, sample shape and class count when nothing overrides them, without building it (e.g. to shape synthetic data). */
export function modelDefaults(name: string): Pick<ModelSpec, 'task' | 'inputShape' | 'numClasses'> {
  const { task, inputShape, numClasses } = definitionOf(name);
  return { task, inputShape: [...inputShape], numClasses };
}

/** The model `name` with seeded weights; inputShape and numClasses override the defaults (e.g. from the data set). */
export function buildModel(name: string, options: BuildOptions): ModelSpec {
  const definition = definitionOf(name);
  const inputShape = options.inputShape ?? definition.inputShape;
  const numClasses = options.numClasses ?? definition.numClasses;
  checkShape(name, definition, inputShape, numClasses);
  const model = definition.build(inputShape, numClasses, options.seed);
  const layers = layerCosts(model);
  return { name, task: definition.task, inputShape, numClasses, model, ...totalCost(layers), layers };
}

function checkShape(name: string, definition: ModelDefinition, inputShape: number[], numClasses: number): void {
  const rank = definition.inputShape.length;
  const fits = inputShape.length === rank && inputShape.every((d) => Number.isInteger(d) && d > 0) && Number.isInteger(numClasses) && numClasses >= 2;
  if (!fits) {
    const expected = rank === 1 ? '[sequence length]' : '[height, width, channels]';
    throw new JouleError('JOULE_BAD_ARGUMENT', `model ${name} takes samples shaped ${expected} and at least 2 classes; got [${inputShape.join(', ')}] and ${numClasses} classes`, { model: name });
  }
}
