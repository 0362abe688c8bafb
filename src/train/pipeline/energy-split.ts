// Where a pipeline stage's joules go inside a step: its step window's energy attributed to compute,
// communication waits and idle time by their shares of the step. An attribution of one figure (labelled
// with that figure's source), not three measurements: no window is opened per micro-batch, since a
// stage's compute and waits interleave many times a step, far faster than any power source samples.
import type { StepEnergy } from '../step-energy';

export interface StageTimes {
  computeS: number;
  recvWaitS: number;
  sendWaitS: number;
  syncS: number;
}

export interface StageEnergySplit {
  basis: 'time-share';
  /** The source of the figure split: the stage's measured energy when its windows measured, else the model's. */
  source: string;
  computeJ: number;
  /** Waiting in recv and send of activations and gradients, and in the data-parallel gradient allreduce. */
  waitJ: number;
  /** The rest of the step: neither computing nor in a communication call (the bubble's idle part). */
  idleJ: number;
}

export function splitByTime(times: StageTimes, energy: StepEnergy, stepS: number): StageEnergySplit | null {
  const joules = energy.energyJ ?? energy.modelEnergyJ;
  if (joules === null || !(stepS > 0)) return null;
  const computeShare = Math.min(1, times.computeS / stepS);
  const waitShare = Math.min(1 - computeShare, (times.recvWaitS + times.sendWaitS + times.syncS) / stepS);
  return {
    basis: 'time-share',
    source: energy.energyJ !== null ? energy.source : 'model',
    computeJ: joules * computeShare,
    waitJ: joules * waitShare,
    idleJ: joules * (1 - computeShare - waitShare),
  };
}

export interface StageEnergyTotals {
  stage: number;
  /** Sums per source over this run's steps (a run whose steps came from different sources keeps them apart). */
  bySource: Record<string, { steps: number; computeJ: number; waitJ: number; idleJ: number }>;
}

/** The run's per-stage sums of the step splits, for the summary. */
export class EnergySplitTotals {
  readonly stages: StageEnergyTotals[];

  constructor(stages: number) {
    this.stages = Array.from({ length: stages }, (_, stage) => ({ stage, bySource: {} }));
  }

  add(stage: number, split: StageEnergySplit | null): void {
    if (!split) return;
    const sums = (this.stages[stage].bySource[split.source] ??= { steps: 0, computeJ: 0, waitJ: 0, idleJ: 0 });
    sums.steps += 1;
    sums.computeJ += split.computeJ;
    sums.waitJ += split.waitJ;
    sums.idleJ += split.idleJ;
  }
}
