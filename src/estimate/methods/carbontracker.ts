// Method 3, carbontracker's projection (Anthony et al., arXiv 2007.03051): the first epochs' energy × the planned epochs.
import { cannot, type MethodEstimate } from '../types';

export interface EpochFigure {
  durationS: number;
  energyJ: number;
}

/**
 * E = mean(E of the first k monitored epochs) × N planned epochs, k = 1 by carbontracker's default;
 * time likewise. carbontracker multiplies by its own PUE (1.58 by default); this is the IT energy before
 * that, so it compares with measurements; apply a profile's PUE for facility energy.
 */
export function carbontrackerEstimate(epochs: EpochFigure[], plannedEpochs: number | undefined, monitoredEpochs = 1): MethodEstimate {
  if (!(plannedEpochs! > 0)) return cannot('carbontracker', ['plannedEpochs']);
  if (epochs.length < monitoredEpochs) return cannot('carbontracker', [`${monitoredEpochs} monitored epoch(s) (have ${epochs.length})`]);
  const first = epochs.slice(0, monitoredEpochs);
  const meanJ = first.reduce((s, e) => s + e.energyJ, 0) / monitoredEpochs;
  const meanS = first.reduce((s, e) => s + e.durationS, 0) / monitoredEpochs;
  return {
    method: 'carbontracker',
    energyJ: meanJ * plannedEpochs!,
    durationS: meanS * plannedEpochs!,
    inputs: { monitoredEpochs, meanEpochEnergyJ: meanJ, meanEpochDurationS: meanS, plannedEpochs: plannedEpochs! },
  };
}
