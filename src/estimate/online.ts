// The projector a trainer calls each epoch: projected total energy, time and CO2e (STEP once it can), and the budget check.
import { JouleError } from '../errors';
import { carbontrackerEstimate } from './methods/carbontracker';
import { onlinePowerEstimate, publishedWindowEpochs } from './methods/online-power';
import { stepEstimate } from './methods/step';
import { findRegimeChange, defaultWindowLength, type RegimeChangeOptions } from './stabilizing-point';
import { resample } from './trace';

export interface EpochObservation {
  epoch: number;
  durationS: number;
  /** The epoch's energy: measured (nvml, rapl) or the model's, one kind for the whole run. */
  energyJ: number;
  source: string;
}

export interface OnlineProjectorOptions {
  /** Epochs the run will train. */
  plannedEpochs: number;
  /** Project only from this many observed epochs on (`joule train --predict-after K`), default 1. */
  predictAfter?: number;
  /** Fixed stabilizing epoch (0-based position); otherwise detected from observed power, else 1 (the first epoch holds the warm-up). */
  s?: number;
  /** Window in epochs, default 5 (del Rey et al.); shorter while fewer epochs than s + w have been seen. */
  w?: number;
  /** Stop threshold on the projected energy (IT energy, the same kind as the observations), J. */
  budgetJ?: number;
  pue?: number;
  carbonGPerKWh?: number;
  stabilizing?: RegimeChangeOptions;
}

export interface OnlineProjection {
  epochsObserved: number;
  plannedEpochs: number;
  /** Projected energy of the whole training, J (same kind as the observations: see source). */
  energyJ: number;
  durationS: number;
  /** step: STEP over the window; carbontracker: mean of the epochs seen so far (before s + 1 epochs exist). */
  method: 'step' | 'carbontracker';
  /** 0-based position of the stabilizing epoch used, and how it was chosen. */
  stabilizingEpoch: number;
  stabilizingHow: 'fixed' | 'detected' | 'default';
  window: number;
  /** The online power-based figure beside it (mean window power × projected time), when the window exists. */
  onlinePowerJ: number | null;
  source: string;
  facilityEnergyJ: number | null;
  co2eG: number | null;
  budgetJ: number | null;
  overBudget: boolean;
}

/**
 * Call it from the trainer once per finished epoch. Ranks must agree on a budget stop: feed every rank
 * the same job-wide epoch figures (the allreduced ones), so the same arithmetic gives every rank the same
 * `overBudget`, or decide on rank 0 and broadcast; never feed rank-local figures and act on them.
 *
 *   const projector = new OnlineProjector({ plannedEpochs: 90, predictAfter: 3, budgetJ: 5e6, pue, carbonGPerKWh });
 *   projector.observePower(timesS, powerW);                   // optional: samples so far, to detect s
 *   projector.observeEpoch({ epoch, durationS, energyJ, source: 'nvml' });
 *   const p = projector.project();                            // null until predictAfter epochs
 *   if (p?.overBudget) stopCleanly('budget');
 *
 * Observations must be of one source: a model figure is never mixed into measured ones.
 */
export class OnlineProjector {
  private readonly epochs: EpochObservation[] = [];
  private readonly timesS: number[] = [];
  private readonly powerW: number[] = [];
  private readonly epochStartsS: number[] = [];

  constructor(private readonly options: OnlineProjectorOptions) {
    if (!Number.isInteger(options.plannedEpochs) || options.plannedEpochs < 1) {
      throw new JouleError('JOULE_BAD_ARGUMENT', `plannedEpochs must be a positive integer, got ${options.plannedEpochs}`);
    }
    for (const key of ['predictAfter', 'w'] as const) {
      const v = options[key];
      if (v !== undefined && (!Number.isInteger(v) || v < 1)) throw new JouleError('JOULE_BAD_ARGUMENT', `${key} must be a positive integer, got ${v}`);
    }
    if (options.s !== undefined && (!Number.isInteger(options.s) || options.s < 0)) throw new JouleError('JOULE_BAD_ARGUMENT', `s must be an integer >= 0, got ${options.s}`);
    if (options.budgetJ !== undefined && !(options.budgetJ > 0)) throw new JouleError('JOULE_BAD_ARGUMENT', `budgetJ must be positive, got ${options.budgetJ}`);
  }

  observeEpoch(observation: EpochObservation): void {
    const { durationS, energyJ, source } = observation;
    if (!(durationS > 0) || !(energyJ >= 0)) {
      throw new JouleError('JOULE_BAD_ARGUMENT', `epoch ${observation.epoch}: durationS must be > 0 and energyJ >= 0 (got ${durationS} s, ${energyJ} J)`);
    }
    const first = this.epochs[0];
    if (first && first.source !== source) {
      throw new JouleError('JOULE_BAD_ARGUMENT', `epoch ${observation.epoch}: source ${source} differs from the earlier epochs' ${first.source}; a projection never mixes model and measured figures`);
    }
    this.epochs.push({ ...observation });
  }

  /** Power samples (any clock, increasing), so s can be detected as in `joule estimate --trace`. */
  observePower(timesS: number[], powerW: number[]): void {
    for (let i = 0; i < timesS.length; i++) {
      if (this.timesS.length && timesS[i] <= this.timesS[this.timesS.length - 1]) continue;
      this.timesS.push(timesS[i]);
      this.powerW.push(powerW[i]);
    }
  }

  /** Marks where an epoch began on the power samples' clock, for detection (optional). */
  markEpochStart(timeS: number): void {
    this.epochStartsS.push(timeS);
  }

  private stabilizing(): { s: number; how: OnlineProjection['stabilizingHow'] } {
    if (this.options.s !== undefined) return { s: this.options.s, how: 'fixed' };
    const m = this.options.stabilizing?.windowLength ?? defaultWindowLength;
    if (this.timesS.length >= 8 * m && this.epochStartsS.length > 0) {
      const fromS = this.timesS[0];
      const toS = this.timesS[this.timesS.length - 1];
      const intervals = this.timesS.slice(1).map((t, i) => t - this.timesS[i]).sort((a, b) => a - b);
      const binS = Math.max(intervals[intervals.length >> 1], (toS - fromS) / 20_000);
      const values = resample([{ device: 'power', source: 'nvml', timesS: this.timesS, powerW: this.powerW }], binS, fromS, toS);
      const change = values.length >= 8 * m ? findRegimeChange(values, this.options.stabilizing) : null;
      const boundaryS = change ? fromS + change.index * binS : -Infinity;
      // The epoch the boundary falls in: the last that started before it.
      const s = this.epochStartsS.filter((t) => t <= boundaryS).length - 1;
      return { s: Math.max(0, s), how: 'detected' };
    }
    return { s: this.options.plannedEpochs >= 3 ? 1 : 0, how: 'default' };
  }

  /** The projection from the epochs seen so far; null before `predictAfter` epochs. */
  project(): OnlineProjection | null {
    const n = this.epochs.length;
    if (n === 0 || n < (this.options.predictAfter ?? 1)) return null;
    const planned = Math.max(this.options.plannedEpochs, n);
    const { s, how } = this.stabilizing();
    const w = Math.min(this.options.w ?? publishedWindowEpochs, n - s, planned - s);
    const estimate = w >= 1 ? stepEstimate(this.epochs, { s, w }, planned) : carbontrackerEstimate(this.epochs, planned, n);
    const power = w >= 1 ? onlinePowerEstimate(this.epochs, { s, w }, planned) : null;
    const energyJ = estimate.energyJ!;
    const budgetJ = this.options.budgetJ ?? null;
    const facilityEnergyJ = this.options.pue !== undefined ? energyJ * this.options.pue : null;
    return {
      epochsObserved: n,
      plannedEpochs: planned,
      energyJ,
      durationS: estimate.durationS!,
      method: w >= 1 ? 'step' : 'carbontracker',
      stabilizingEpoch: s,
      stabilizingHow: how,
      window: Math.max(0, w),
      onlinePowerJ: power?.energyJ ?? null,
      source: this.epochs[0].source,
      facilityEnergyJ,
      co2eG: facilityEnergyJ !== null && this.options.carbonGPerKWh !== undefined ? (facilityEnergyJ / 3.6e6) * this.options.carbonGPerKWh : null,
      budgetJ,
      overBudget: budgetJ !== null && energyJ > budgetJ,
    };
  }
}
