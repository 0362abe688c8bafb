// A data-parallel training run's joules by activity, per energy source: compute and communication from the trainer's power windows inside each step, idle the rest of the step's window.
import type { StepRecord } from '../../experiments/run-data';

export interface ActivityEnergy {
  steps: number;
  computeJ: number;
  commJ: number;
  idleJ: number;
}

/** Sums over rank 0's step records (job-wide figures); steps without a compute/communication split (pipelines, unresolved energy) are left out. */
export function activityEnergy(steps: StepRecord[]): Map<string, ActivityEnergy> {
  const bySource = new Map<string, ActivityEnergy>();
  for (const { energy } of steps) {
    // The split follows the step's headline figure: measured when the step was measured, else the model's.
    const stepJ = energy?.energyJ ?? energy?.modelEnergyJ;
    if (!energy || typeof stepJ !== 'number' || typeof energy.computeJ !== 'number' || typeof energy.commJ !== 'number') continue;
    const source = energy.energyJ != null ? energy.source ?? 'measured' : 'model';
    const sums = bySource.get(source) ?? { steps: 0, computeJ: 0, commJ: 0, idleJ: 0 };
    sums.steps += 1;
    sums.computeJ += energy.computeJ;
    sums.commJ += energy.commJ;
    // The nested windows' figures are read from the same samples as the step's; max() keeps their rounding from drawing a negative bar.
    sums.idleJ += Math.max(0, stepJ - energy.computeJ - energy.commJ);
    bySource.set(source, sums);
  }
  return bySource;
}
