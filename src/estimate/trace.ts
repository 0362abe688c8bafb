// A power trace from any source (nvidia-smi log, plain CSV, joule run): per-device series, epochs, and its energy.

/** Where a trace's power came from: a measurement (nvidia-smi, nvml, rapl) or joule's model. */
export type TraceSource = 'nvidia-smi' | 'csv' | 'nvml' | 'rapl' | 'model';

/** One device's power readings, sorted by time, one reading per time. */
export interface PowerSeries {
  device: string;
  source: TraceSource;
  timesS: number[];
  /** Power at each time; for a counter, the mean power of the interval ending there (the first: the next one's). */
  powerW: number[];
  /**
   * A counter's readings at `timesS` (J since any origin), when the series comes from one (NVML energy,
   * RAPL, CPU time × W per core): integrals then take the counter's differences exactly, as if power were
   * constant between readings, rather than the trapezoid of `powerW`.
   */
  cumulativeJ?: number[];
  /** The nominal sampling period, when known (joule's sampler); gaps are judged against it. */
  periodS?: number;
}

/** One epoch on the trace's time axis; energy is the trainer's own figure when it recorded one. */
export interface EpochSpan {
  epoch: number;
  startS: number;
  endS: number;
  /** The trainer's figure for this epoch (joule runs), else undefined: the trace's integral is used. */
  energyJ?: number;
  source?: TraceSource;
}

/** A line or reading that was not used, and why: reported, never guessed. */
export interface TraceIssue {
  file: string;
  /** 1-based line in the file, when the issue belongs to one line. */
  line?: number;
  kind: 'malformed' | 'missing-value' | 'duplicate' | 'conflict' | 'unsorted' | 'repeated-header' | 'note';
  message: string;
}

export interface PowerTrace {
  /** The file or run directory it came from. */
  name: string;
  format: 'nvidia-smi' | 'csv' | 'joule-run';
  series: PowerSeries[];
  epochs: EpochSpan[];
  issues: TraceIssue[];
}

/** A stretch between two consecutive readings longer than the gap threshold; its energy is interpolated. */
export interface TraceGap {
  device: string;
  startS: number;
  endS: number;
  durationS: number;
  energyJ: number;
}

export interface TraceEnergy {
  /** Sum over the series of one source: a model figure is never added into a measured one. */
  bySource: Partial<Record<TraceSource, number>>;
  byDevice: { device: string; source: TraceSource; energyJ: number; samples: number; startS: number; endS: number }[];
  gaps: TraceGap[];
  /** The part of the energy that lies across gaps (linear interpolation between the readings around them). */
  gapEnergyJ: number;
  gapThresholdS: number;
}

/**
 * The energy from a series' first reading to time t, as a function: the trapezoid rule over power
 * readings, or a counter's readings interpolated linearly. Precomputed once, so many integrals over one
 * series cost a binary search each.
 */
export function cumulativeEnergy(series: PowerSeries): (timeS: number) => number {
  const { timesS: t, powerW: p, cumulativeJ: counter } = series;
  /** The reading at or before x (x strictly inside the series' span). */
  const before = (x: number) => {
    let lo = 0;
    let hi = t.length - 1;
    while (hi - lo > 1) {
      const mid = (lo + hi) >> 1;
      if (t[mid] <= x) lo = mid;
      else hi = mid;
    }
    return lo;
  };
  if (counter) {
    return (x) => {
      if (t.length < 2 || x <= t[0]) return 0;
      if (x >= t[t.length - 1]) return counter[t.length - 1] - counter[0];
      const lo = before(x);
      return counter[lo] - counter[0] + ((counter[lo + 1] - counter[lo]) * (x - t[lo])) / (t[lo + 1] - t[lo]);
    };
  }
  const cumulative = new Float64Array(t.length);
  for (let i = 1; i < t.length; i++) cumulative[i] = cumulative[i - 1] + ((t[i] - t[i - 1]) * (p[i - 1] + p[i])) / 2;
  return (x) => {
    if (t.length < 2 || x <= t[0]) return 0;
    if (x >= t[t.length - 1]) return cumulative[t.length - 1];
    const lo = before(x);
    const hi = lo + 1;
    const px = p[lo] + ((p[hi] - p[lo]) * (x - t[lo])) / (t[hi] - t[lo]);
    return cumulative[lo] + ((x - t[lo]) * (p[lo] + px)) / 2;
  };
}

function median(values: number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/**
 * The trace's energy (the trapezoid rule; a counter's own differences) per device and per source, with every gap listed. A gap is
 * an interval longer than `gapThresholdS` (default: 3 × the series' sampling period, or its median
 * interval when the period is not known: two readings missed);
 * its energy is still counted (linear between the readings around it) but reported as such.
 */
export function traceEnergy(trace: PowerTrace, options: { gapThresholdS?: number; fromS?: number; toS?: number } = {}): TraceEnergy {
  const bySource: TraceEnergy['bySource'] = {};
  const byDevice: TraceEnergy['byDevice'] = [];
  const gaps: TraceGap[] = [];
  const fromS = options.fromS ?? -Infinity;
  const toS = options.toS ?? Infinity;
  let threshold = 0;
  for (const series of trace.series) {
    const intervals = series.timesS.slice(1).map((t, i) => t - series.timesS[i]);
    const gapThresholdS = options.gapThresholdS ?? 3 * (series.periodS ?? median(intervals));
    threshold = Math.max(threshold, gapThresholdS);
    const energyAt = cumulativeEnergy(series);
    const energyJ = energyAt(toS) - energyAt(fromS);
    bySource[series.source] = (bySource[series.source] ?? 0) + energyJ;
    byDevice.push({
      device: series.device,
      source: series.source,
      energyJ,
      samples: series.timesS.length,
      startS: series.timesS[0] ?? NaN,
      endS: series.timesS[series.timesS.length - 1] ?? NaN,
    });
    intervals.forEach((interval, i) => {
      if (!(interval > gapThresholdS)) return;
      const startS = series.timesS[i];
      const endS = series.timesS[i + 1];
      if (endS <= fromS || startS >= toS) return;
      const a = Math.max(startS, fromS);
      const b = Math.min(endS, toS);
      gaps.push({ device: series.device, startS, endS, durationS: endS - startS, energyJ: energyAt(b) - energyAt(a) });
    });
  }
  return { bySource, byDevice, gaps, gapEnergyJ: gaps.reduce((s, g) => s + g.energyJ, 0), gapThresholdS: threshold };
}

/** The series a method should use: the measured ones when there are any, else the model's (never both). */
export function primarySeries(trace: PowerTrace): PowerSeries[] {
  const measured = trace.series.filter((s) => s.source !== 'model');
  return measured.length > 0 ? measured : trace.series;
}

/** The source label of a set of series: one name, or the names joined when several measured sources add up. */
export function sourceOf(series: PowerSeries[]): string {
  return [...new Set(series.map((s) => s.source))].sort().join('+');
}

/** Every epoch's energy and duration: the trainer's figure when recorded, else the trace's integral over it. */
export function epochEnergies(trace: PowerTrace): { epoch: number; durationS: number; energyJ: number }[] {
  const energyAt = primarySeries(trace).map(cumulativeEnergy);
  return trace.epochs.map((e) => ({
    epoch: e.epoch,
    durationS: e.endS - e.startS,
    energyJ: e.energyJ ?? energyAt.reduce((sum, f) => sum + f(e.endS) - f(e.startS), 0),
  }));
}

/**
 * The summed power of `series` on a regular grid (the mean of each bin, from the trapezoid integral), so
 * irregular sampling and several devices become one evenly spaced signal. Bins not wholly covered by
 * readings of every series are NaN.
 */
export function resample(series: PowerSeries[], binS: number, fromS: number, toS: number): number[] {
  const bins = Math.max(0, Math.floor((toS - fromS) / binS + 1e-9));
  const out: number[] = new Array(bins).fill(0);
  for (const s of series) {
    const energyAt = cumulativeEnergy(s);
    const first = s.timesS[0] ?? Infinity;
    const last = s.timesS[s.timesS.length - 1] ?? -Infinity;
    for (let b = 0; b < bins; b++) {
      const a = fromS + b * binS;
      const z = a + binS;
      out[b] = first <= a && z <= last ? out[b] + (energyAt(z) - energyAt(a)) / binS : NaN;
    }
  }
  return out;
}
