// What one training run is: the validated configuration every rank derives from the same command line.
import { JouleError } from '../errors';

export type PrecisionChoice = 'fp32' | 'bf16' | 'fp16' | 'adaptive';
export type OptimizerName = 'adam' | 'sgd';
export const precisionChoices: readonly PrecisionChoice[] = ['fp32', 'bf16', 'fp16', 'adaptive'];
export const optimizerNames: readonly OptimizerName[] = ['adam', 'sgd'];
export const tfBackendChoices = ['auto', 'tfjs-node-gpu', 'tfjs-node', 'wasm', 'cpu'] as const;
export type TfBackendChoice = (typeof tfBackendChoices)[number];

/** "every 50 steps" or "every 1 epoch". */
export interface Every {
  every: number;
  unit: 'steps' | 'epochs';
}

export const strategyChoices = ['dp', 'pp', 'hybrid'] as const;
export type Strategy = (typeof strategyChoices)[number];
export const scheduleChoices = ['gpipe', '1f1b'] as const;
export type Schedule = (typeof scheduleChoices)[number];

/** How the ranks share the work: dp replicas × pipeline stages (dp: stages 1; pp: dp 1). */
export interface Parallel {
  strategy: Strategy;
  dp: number;
  stages: number;
  /** Micro-batches per mini-batch in the pipeline (pp/hybrid: the accumulation steps). */
  microBatches: number;
  /** 'flops' (balanced by forward FLOPs) or the first layer index of each stage after the first, e.g. "4,9". */
  split: string;
  schedule: Schedule;
}

export interface TrainConfig {
  model: string;
  /** Absent in checkpoints written before pipelines existed: data parallel over every rank. */
  parallel?: Parallel;
  dataset: string;
  epochs: number;
  /** Samples per rank per micro-step. */
  lbs: number;
  /** Samples per optimizer step over all ranks: lbs × data-parallel ranks × accumulation. */
  gbs: number;
  accumulation: number;
  precision: PrecisionChoice;
  seed: number;
  optimizer: OptimizerName;
  learningRate: number;
  /** Gradient bytes per allreduce (the fused bucket). */
  bucketBytes: number;
  /** Compare a checksum of every rank's weights this often. */
  checksum: Every;
  checkpoint: Every | null;
  /** Stop after this many optimizer steps in all (short runs, tests, benchmarks). */
  maxSteps: number | null;
  trainSize: number | null;
  testSize: number | null;
  tfBackend: TfBackendChoice;
  /**
   * Emulated compute precision for accuracy studies: weights rounded to this format before every forward
   * pass (activations stay float32). It costs time and energy instead of saving any: tfjs has no 16-bit math.
   */
  emulate: 'bf16' | 'f16' | null;
  /** Let the adaptive policy act on modelled energy (recorded as such). */
  allowModelEnergy: boolean;
  /** Project the run's total energy, time and CO2e after this many epochs, then every epoch (null: never). */
  predictAfter: number | null;
  /** Stop cleanly (checkpoint, status "budget") when the projected energy exceeds this many joules. */
  energyBudgetJ: number | null;
  /** Power windows, checksums and per-step metrics; off only to measure what they cost. */
  instrument: boolean;
}

export const trainDefaults = {
  model: 'resnet-mini',
  dataset: 'mnist',
  epochs: 1,
  // LBS 16 with Adam at 2e-3: one epoch of MNIST (250 steps over 2 ranks) reaches ≥ 95 % held out, which
  // LBS 32 at 1e-3 (125 steps) did not (94.5 % after an epoch at 3e-3, 54 % after 40 steps at 1e-3).
  lbs: 16,
  precision: 'fp32' as PrecisionChoice,
  seed: 1,
  optimizer: 'adam' as OptimizerName,
  /** 4 MiB: a resnet-mini gradient (311 KB) is one bucket; larger models get several, so casts and copies overlap the wire. */
  bucketBytes: 4 * 1024 * 1024,
};

/**
 * A tfjs step on a CPU backend is synchronous JavaScript: the event loop (and so the heartbeats) waits for
 * it, seconds for large models. A dead rank's exit is seen at once by the launcher, so heartbeats only
 * catch hangs, and may be slow to: 30 misses of 2 s.
 */
export const TRAIN_HEARTBEAT_MISSES = 30;

function bad(message: string): JouleError {
  return new JouleError('JOULE_BAD_ARGUMENT', message);
}

export function positiveInteger(value: unknown, flag: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0) throw bad(`${flag} must be a positive integer, got ${String(value)}`);
  return value;
}

/** "100" or "100s"/"100steps" → steps; "2e"/"2epochs" → epochs. */
export function parseEvery(text: string, flag: string): Every {
  const match = /^\s*(\d+)\s*(s|steps?|e|epochs?)?\s*$/.exec(String(text));
  if (!match || Number(match[1]) <= 0) throw bad(`${flag} takes a positive count of steps or epochs, e.g. 200 (steps) or 1epoch; got "${text}"`);
  const unit = match[2]?.startsWith('e') ? 'epochs' : 'steps';
  return { every: Number(match[1]), unit };
}

/** The global batch and accumulation from --lbs and --gbs over `dpRanks` data-parallel ranks. */
export function resolveBatch(lbs: number, gbs: number | undefined, dpRanks: number): { gbs: number; accumulation: number } {
  positiveInteger(lbs, '--lbs');
  if (gbs === undefined) return { gbs: lbs * dpRanks, accumulation: 1 };
  positiveInteger(gbs, '--gbs');
  const perMicroStep = lbs * dpRanks;
  if (gbs % perMicroStep !== 0) {
    throw bad(`--gbs ${gbs} is not a multiple of --lbs ${lbs} × ${dpRanks} data-parallel rank${dpRanks > 1 ? 's' : ''} = ${perMicroStep}; the global batch must be lbs × ranks × accumulation steps (e.g. --gbs ${perMicroStep * Math.max(1, Math.round(gbs / perMicroStep))})`);
  }
  return { gbs, accumulation: gbs / perMicroStep };
}
