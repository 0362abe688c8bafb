// `joule train`'s flags → a TrainConfig, validated the same way on the launcher side (before any rank
// starts) and in every rank (which knows the real world size).
import { JouleError } from '../errors';
import { parseEnergyJ, parseEvery, positiveInteger, precisionChoices, resolveBatch, tfBackendChoices, trainDefaults, type OptimizerName, type PrecisionChoice, type TfBackendChoice, type TrainConfig } from './config';
import { defaultLearningRate } from './optimizer';

export interface TrainArgs {
  model: string;
  dataset: string;
  epochs: number;
  lbs: number;
  gbs?: number;
  precision: PrecisionChoice;
  seed: number;
  optimizer: OptimizerName;
  lr?: number;
  'bucket-bytes': number;
  'checksum-every': string;
  'checkpoint-every'?: string;
  'max-steps'?: number;
  'train-size'?: number;
  'test-size'?: number;
  'tf-backend': TfBackendChoice;
  'allow-model-energy': boolean;
  'predict-after'?: number;
  'energy-budget'?: string;
  emulate?: 'bf16' | 'fp16';
  instrument: boolean;
}

export function configFrom(args: TrainArgs, dpRanks: number): TrainConfig {
  positiveInteger(args.epochs, '--epochs');
  if (!precisionChoices.includes(args.precision)) throw new JouleError('JOULE_BAD_ARGUMENT', `--precision must be one of ${precisionChoices.join(', ')}`);
  if (!tfBackendChoices.includes(args['tf-backend'])) throw new JouleError('JOULE_BAD_ARGUMENT', `--tf-backend must be one of ${tfBackendChoices.join(', ')}`);
  if (!Number.isInteger(args.seed) || args.seed < 0) throw new JouleError('JOULE_BAD_ARGUMENT', `--seed must be a non-negative integer, got ${args.seed}`);
  const learningRate = args.lr ?? defaultLearningRate[args.optimizer];
  if (!(learningRate > 0) || !Number.isFinite(learningRate)) throw new JouleError('JOULE_BAD_ARGUMENT', `--lr must be a positive number, got ${args.lr}`);
  if (args.emulate !== undefined && args.emulate !== 'bf16' && args.emulate !== 'fp16') throw new JouleError('JOULE_BAD_ARGUMENT', `--emulate must be bf16 or fp16, got ${args.emulate}`);
  positiveInteger(args['bucket-bytes'], '--bucket-bytes');
  if (args['bucket-bytes'] % 4 !== 0) throw new JouleError('JOULE_BAD_ARGUMENT', `--bucket-bytes must be a multiple of 4 (float32 gradients), got ${args['bucket-bytes']}`);
  for (const flag of ['max-steps', 'train-size', 'test-size', 'predict-after'] as const) if (args[flag] !== undefined) positiveInteger(args[flag], `--${flag}`);
  const { gbs, accumulation } = resolveBatch(args.lbs, args.gbs, dpRanks);
  return {
    model: args.model,
    dataset: args.dataset,
    epochs: args.epochs,
    lbs: args.lbs,
    gbs,
    accumulation,
    precision: args.precision,
    seed: args.seed,
    optimizer: args.optimizer,
    learningRate,
    bucketBytes: args['bucket-bytes'],
    checksum: parseEvery(args['checksum-every'], '--checksum-every'),
    checkpoint: args['checkpoint-every'] === undefined ? null : parseEvery(args['checkpoint-every'], '--checkpoint-every'),
    maxSteps: args['max-steps'] ?? null,
    trainSize: args['train-size'] ?? null,
    testSize: args['test-size'] ?? null,
    tfBackend: args['tf-backend'],
    emulate: args.emulate === undefined ? null : args.emulate === 'fp16' ? 'f16' : 'bf16',
    allowModelEnergy: args['allow-model-energy'],
    predictAfter: args['predict-after'] ?? (args['energy-budget'] !== undefined ? 1 : null),
    energyBudgetJ: args['energy-budget'] === undefined ? null : parseEnergyJ(args['energy-budget'], '--energy-budget'),
    instrument: args.instrument,
  };
}

export { trainDefaults };
