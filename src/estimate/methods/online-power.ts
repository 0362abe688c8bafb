// Method 5, online power-based (del Rey et al., arXiv 2307.05520): mean power over the stable window × the total duration.
import { cannot, type MethodEstimate } from '../types';
import type { EpochFigure } from './carbontracker';

/** del Rey et al.'s window, w = 5 epochs (they also fixed s = 10 for their data; joule detects s unless told). */
export const publishedWindowEpochs = 5;

export interface WindowChoice {
  /** Stabilizing epoch, 0-based position in the epochs. */
  s: number;
  /** Window length in epochs. */
  w: number;
}

/** Why the epochs observed cannot give the window s..s+w−1, or null when they can. */
export function windowProblem(epochs: EpochFigure[], { s, w }: WindowChoice, plannedEpochs: number | undefined): string | null {
  if (!(plannedEpochs! > 0)) return 'plannedEpochs';
  if (!(w >= 1) || !(s >= 0)) return `a window w >= 1 from s >= 0 (got s=${s}, w=${w})`;
  if (epochs.length < s + w) return `${s + w} epochs (s=${s} + w=${w}) observed, have ${epochs.length}`;
  if (s + w > plannedEpochs!) return `plannedEpochs (${plannedEpochs}) >= s + w (${s + w})`;
  return null;
}

/**
 * E = P̄ × T, with P̄ = (Σ E_i over i in s..s+w−1) / (Σ t_i over the same epochs), the mean power once
 * the trace has stabilized, and T the planned duration when given, else the time so far projected:
 * T = Σ_{i<s+w} t_i + t̄_window × (N − s − w).
 */
export function onlinePowerEstimate(epochs: EpochFigure[], choice: WindowChoice, plannedEpochs: number | undefined, plannedDurationS?: number): MethodEstimate {
  const problem = windowProblem(epochs, choice, plannedEpochs);
  if (problem) return cannot('online-power', [problem], { s: choice.s, w: choice.w });
  const { s, w } = choice;
  const window = epochs.slice(s, s + w);
  const windowJ = window.reduce((a, e) => a + e.energyJ, 0);
  const windowS = window.reduce((a, e) => a + e.durationS, 0);
  const meanPowerW = windowJ / windowS;
  const soFarS = epochs.slice(0, s + w).reduce((a, e) => a + e.durationS, 0);
  const durationS = plannedDurationS ?? soFarS + (windowS / w) * (plannedEpochs! - s - w);
  return {
    method: 'online-power',
    energyJ: meanPowerW * durationS,
    durationS,
    inputs: { s, w, meanPowerW, plannedEpochs: plannedEpochs!, durationS, durationFrom: plannedDurationS === undefined ? 'projected' : 'planned' },
  };
}
