// The stabilizing epoch s of a training run: where its power trace settles, by matrix profile (window 10) and FLUSS with 2 regimes.
import { correctedArcCurve, regimeBoundaries } from './fluss';
import { matrixProfile } from './matrix-profile';
import { primarySeries, resample, type PowerTrace } from './trace';

export interface RegimeChangeOptions {
  /** Matrix profile window, in points; del Rey et al. used 10. */
  windowLength?: number;
  /** A boundary counts only when the corrected arc curve dips below this; otherwise the series is one regime. */
  threshold?: number;
  normalize?: boolean;
}

export const defaultWindowLength = 10;
/**
 * Below this CAC, few enough arcs cross the point that two regimes meet there (random placement gives
 * ~1). joule's addition: FLUSS itself always names a boundary, so a steady trace would get a random s.
 */
export const defaultCacThreshold = 0.5;

/** The boundary between the two regimes of an evenly spaced series, or null when it is one regime. */
export function findRegimeChange(values: ArrayLike<number>, options: RegimeChangeOptions = {}): { index: number; cac: number; cacMin: number } | null {
  const m = options.windowLength ?? defaultWindowLength;
  const profile = matrixProfile(values, m, { normalize: options.normalize });
  // Exclusion zone 3 windows at the ends and around a boundary: del Rey et al.'s excl_factor (stumpy's default is 5).
  const cac = correctedArcCurve(profile.indices, m, 3 * m);
  const [boundary] = regimeBoundaries(cac, 2, 3 * m);
  if (!boundary) return null;
  return boundary.cac < (options.threshold ?? defaultCacThreshold) ? { ...boundary, cacMin: boundary.cac } : null;
}

export interface StabilizingPoint {
  /** Position in the trace's epoch list of the epoch the power settles in. */
  index: number;
  /** That epoch's own number. */
  epoch: number | null;
  /** detected: by matrix profile + FLUSS; fixed: given by the user; none: could not be told, s = 0. */
  how: 'detected' | 'fixed' | 'none';
  reason: string;
  detection?: {
    windowLength: number;
    normalize: boolean;
    binS: number;
    points: number;
    /** Where the steady regime starts, on the trace's clock; null when the trace is one regime. */
    boundaryS: number | null;
    cacMin: number | null;
  };
}

export interface StabilizingPointOptions extends RegimeChangeOptions {
  /** Use this epoch position (0-based) instead of detecting. */
  fixedIndex?: number;
  /** At most this many points go into the matrix profile (O(n²)): longer traces are averaged into coarser bins. */
  maxPoints?: number;
}

function medianInterval(times: number[]): number {
  const d = times.slice(1).map((t, i) => t - times[i]).sort((a, b) => a - b);
  return d.length ? d[d.length >> 1] : NaN;
}

/**
 * s for a trace with epochs. Detection runs on the summed power of the trace's measured series (the
 * model's when nothing was measured) between the first epoch's start and the last one's end, averaged
 * into even bins no shorter than the sampling interval; s is the epoch the boundary falls in (del Rey et
 * al.'s choice). One regime (the trace is steady from the start) gives s = 0.
 */
export function stabilizingPoint(trace: PowerTrace, options: StabilizingPointOptions = {}): StabilizingPoint {
  const epochs = trace.epochs;
  if (options.fixedIndex !== undefined) {
    return { index: options.fixedIndex, epoch: epochs[options.fixedIndex]?.epoch ?? null, how: 'fixed', reason: `given: s = ${options.fixedIndex}` };
  }
  const series = primarySeries(trace);
  const windowLength = options.windowLength ?? defaultWindowLength;
  const normalize = options.normalize ?? true;
  if (epochs.length === 0 || series.length === 0) {
    return { index: 0, epoch: epochs[0]?.epoch ?? null, how: 'none', reason: epochs.length === 0 ? 'no epochs in the trace' : 'no power series to detect on (epochs only)' };
  }
  const fromS = Math.max(epochs[0].startS, ...series.map((s) => s.timesS[0]));
  const toS = Math.min(epochs[epochs.length - 1].endS, ...series.map((s) => s.timesS[s.timesS.length - 1]));
  const spanS = toS - fromS;
  const binS = Math.max(Math.min(...series.map((s) => medianInterval(s.timesS))), spanS / (options.maxPoints ?? 20_000));
  const values = spanS > 0 && Number.isFinite(binS) ? resample(series, binS, fromS, toS) : [];
  const detection = { windowLength, normalize, binS, points: values.length, boundaryS: null as number | null, cacMin: null as number | null };
  if (values.length < 8 * windowLength) {
    return { index: 0, epoch: epochs[0].epoch, how: 'none', reason: `${values.length} power points under the epochs: too few for a window of ${windowLength} (${8 * windowLength} needed)`, detection };
  }
  const change = findRegimeChange(values, options);
  if (!change) {
    return { index: 0, epoch: epochs[0].epoch, how: 'detected', reason: 'one regime: steady from the start', detection };
  }
  detection.boundaryS = fromS + change.index * binS;
  detection.cacMin = change.cac;
  const boundary = detection.boundaryS;
  // The epoch the boundary falls in, as del Rey et al. chose it (the first whose end is past it).
  let index = epochs.findIndex((e) => e.endS > boundary);
  if (index < 0) index = epochs.length - 1;
  return {
    index,
    epoch: epochs[index].epoch,
    how: 'detected',
    reason: `regime change at ${(boundary - fromS).toFixed(1)} s into training (CAC ${change.cac.toFixed(2)})`,
    detection,
  };
}
