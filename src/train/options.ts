// `joule train`'s flags → a TrainConfig, validated the same way on the launcher side (before any rank
// starts) and in every rank (which knows the real world size).
import { JouleError } from '../errors';
import { parseEnergyJ } from '../units';
import { parseEvery, positiveInteger, precisionChoices, resolveBatch, scheduleChoices, strategyChoices, tfBackendChoices, trainDefaults, type OptimizerName, type Parallel, type PrecisionChoice, type Schedule, type Strategy, type TfBackendChoice, type TrainConfig } from './config';
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
  strategy?: Strategy;
  dp?: number;
  stages?: number;
  'micro-batches'?: number;
  split?: string;
  schedule?: Schedule;
}

/** Micro-batches when neither --micro-batches nor --gbs says: enough to keep a short pipeline mostly busy. */
const DEFAULT_MICRO_BATCHES = 4;

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
  const parallel = parallelFrom(args, dpRanks);
  const { gbs, accumulation } = parallel.strategy === 'dp' ? resolveBatch(args.lbs, args.gbs, dpRanks) : { gbs: args.lbs * parallel.dp * parallel.microBatches, accumulation: parallel.microBatches };
  return {
    model: args.model,
    parallel,
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
    energyBudgetJ: args['energy-budget'] === undefined ? null : parseEnergyJ(args['energy-budget']),
    instrument: args.instrument,
  };
}

export { trainDefaults };

function bad(message: string): JouleError {
  return new JouleError('JOULE_BAD_ARGUMENT', message);
}

/** The rank grid: dp uses every rank; pp needs exactly --stages ranks; hybrid exactly --dp × --stages. */
function parallelFrom(args: TrainArgs, ranks: number): Parallel {
  const strategy = args.strategy ?? 'dp';
  if (!strategyChoices.includes(strategy)) throw bad(`--strategy must be one of ${strategyChoices.join(', ')}, got ${String(strategy)}`);
  const schedule = args.schedule ?? 'gpipe';
  if (!scheduleChoices.includes(schedule)) throw bad(`--schedule must be one of ${scheduleChoices.join(', ')}, got ${String(schedule)}`);
  if (strategy === 'dp') {
    for (const flag of ['stages', 'micro-batches', 'split', 'schedule', 'dp'] as const) if (args[flag] !== undefined) throw bad(`--${flag} applies to --strategy pp or hybrid; this run is data parallel`);
    return { strategy, dp: ranks, stages: 1, microBatches: 1, split: 'flops', schedule };
  }
  if (args.stages === undefined) throw bad(`--strategy ${strategy} needs --stages K (pipeline stages, at least 2)`);
  const stages = positiveInteger(args.stages, '--stages');
  if (stages < 2) throw bad(`--stages must be at least 2 for a pipeline, got ${stages}; use --strategy dp for one stage`);
  if (strategy === 'pp' && args.dp !== undefined && args.dp !== 1) throw bad(`--dp applies to --strategy hybrid; pp has one pipeline`);
  const dp = strategy === 'hybrid' ? positiveInteger(args.dp ?? Math.floor(ranks / stages), '--dp') : 1;
  if (dp * stages !== ranks) throw bad(`--strategy ${strategy} with ${strategy === 'hybrid' ? `--dp ${dp} × ` : ''}--stages ${stages} needs ${dp * stages} ranks; the job has ${ranks} (-n ${dp * stages})`);
  positiveInteger(args.lbs, '--lbs');
  let microBatches = args['micro-batches'] === undefined ? undefined : positiveInteger(args['micro-batches'], '--micro-batches');
  if (args.gbs !== undefined) {
    const perMicroBatch = args.lbs * dp;
    const fromGbs = positiveInteger(args.gbs, '--gbs') / perMicroBatch;
    if (!Number.isInteger(fromGbs) || (microBatches !== undefined && microBatches !== fromGbs)) {
      throw bad(`--gbs ${args.gbs} must be --lbs ${args.lbs} (the micro-batch) × ${dp} pipeline${dp > 1 ? 's' : ''} × ${microBatches ?? 'the micro-batches'}${microBatches !== undefined ? ` = ${perMicroBatch * microBatches}` : ''}`);
    }
    microBatches = fromGbs;
  }
  return { strategy, dp, stages, microBatches: microBatches ?? DEFAULT_MICRO_BATCHES, split: args.split ?? 'flops', schedule };
}
