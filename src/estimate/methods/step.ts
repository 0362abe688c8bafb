// Method 6, STEP: online epoch-energy-based (del Rey et al., arXiv 2307.05520).
import { cannot, type MethodEstimate } from '../types';
import type { EpochFigure } from './carbontracker';
import { windowProblem, type WindowChoice } from './online-power';

/**
 * E = Σ_{i<s} E_i + (Σ_{i=s}^{s+w−1} E_i) × (N − s) / w: the epochs before the stabilizing epoch as
 * measured, and the mean energy of the w-epoch window from s for every epoch from s on. Time likewise.
 */
export function stepEstimate(epochs: EpochFigure[], choice: WindowChoice, plannedEpochs: number | undefined): MethodEstimate {
  const problem = windowProblem(epochs, choice, plannedEpochs);
  if (problem) return cannot('step', [problem], { s: choice.s, w: choice.w });
  const { s, w } = choice;
  const before = epochs.slice(0, s);
  const window = epochs.slice(s, s + w);
  const sum = (list: EpochFigure[], key: keyof EpochFigure) => list.reduce((a, e) => a + e[key], 0);
  const factor = (plannedEpochs! - s) / w;
  return {
    method: 'step',
    energyJ: sum(before, 'energyJ') + sum(window, 'energyJ') * factor,
    durationS: sum(before, 'durationS') + sum(window, 'durationS') * factor,
    inputs: { s, w, beforeJ: sum(before, 'energyJ'), windowJ: sum(window, 'energyJ'), plannedEpochs: plannedEpochs! },
  };
}
