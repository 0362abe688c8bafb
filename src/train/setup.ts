// What every training loop starts from, whatever the strategy: the tfjs backend, the data set, the model
// built for it, and how many steps the run takes.
import { JouleError } from '../errors';
import { selectTfBackend, type TfRuntime } from './backend';
import type { TrainConfig } from './config';
import { loadDataset, type Dataset } from './data';
import { buildModel, modelDefaults, type ModelSpec } from './models';

export interface TrainingSetup {
  runtime: TfRuntime;
  dataset: Dataset;
  spec: ModelSpec;
  stepsPerEpoch: number;
  totalSteps: number;
}

export async function setUpTraining(config: TrainConfig): Promise<TrainingSetup> {
  const runtime = await selectTfBackend(config.tfBackend);
  // Synthetic data takes the model's sample shape and classes; real data sets have their own.
  const shape = config.dataset.startsWith('synthetic') ? modelDefaults(config.model) : undefined;
  const dataset = await loadDataset(config.dataset, { seed: config.seed, trainSize: config.trainSize ?? undefined, testSize: config.testSize ?? undefined, sampleShape: shape?.inputShape, numClasses: shape?.numClasses });
  const spec = buildModel(config.model, { seed: config.seed, inputShape: dataset.sampleShape, numClasses: dataset.numClasses });
  if (spec.task !== dataset.task) {
    throw new JouleError('JOULE_BAD_ARGUMENT', `model ${spec.name} is a ${spec.task} model but data set ${dataset.name} is for ${dataset.task}; e.g. --model bert-mini --dataset brown, or --model resnet-mini --dataset mnist`);
  }
  const stepsPerEpoch = Math.floor(dataset.trainSize / config.gbs);
  if (stepsPerEpoch < 1) throw new JouleError('JOULE_BAD_ARGUMENT', `the global batch (${config.gbs}) is larger than the training set (${dataset.trainSize} samples of ${dataset.name})`);
  const totalSteps = Math.min(config.epochs * stepsPerEpoch, config.maxSteps ?? Infinity);
  return { runtime, dataset, spec, stepsPerEpoch, totalSteps };
}
