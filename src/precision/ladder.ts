// The adaptive policy's precision ladder and its measurement window: what one window of steps at a rung says.
import type { Precision, PrecisionObservation } from './policy';

/** One step of the ladder: compute and wire dtypes, and whether the rung needs dynamic loss scaling. */
export interface Rung {
  /** `compute/wire`, e.g. 'f32/bf16': how history entries name the rung. */
  label: string;
  compute: Precision;
  wire: Precision;
  lossScaling: boolean;
}

function rung(compute: Precision, wire: Precision, lossScaling: boolean): Rung {
  return { label: `${compute}/${wire}`, compute, wire, lossScaling };
}

/**
 * From the most precise rung to the cheapest. The policy keeps a lower rung only when it measures a
 * saving, so every rung must be expected to cost less than the one above it:
 * - f32/bf16 halves the bytes on the wire; bf16 has f32's exponent range, so no loss scaling.
 * - bf16/bf16 moves the math to half-width tensor cores and halves activation traffic.
 * - f16/f16 runs the same bytes as bf16 but has 3 more mantissa bits and a range too small for raw
 *   gradients, so it needs loss scaling; it is cheaper only on GPUs whose f16 units outrun their bf16
 *   ones (or that have no bf16), which the measurement tells.
 * Left out: a wire wider than compute (the gradients carry only compute's precision, so wider bytes buy
 * nothing), and an f16 wire under f32 or bf16 compute (same bytes as a bf16 wire, so no saving to find,
 * and it would need loss scaling where the compute does not).
 */
export const precisionLadder: readonly Rung[] = [rung('f32', 'f32', false), rung('f32', 'bf16', false), rung('bf16', 'bf16', false), rung('f16', 'f16', true)];

/** The ladder index of a compute/wire pair, or -1 when the pair is not a rung. */
export function rungIndex(pair: { compute: Precision; wire: Precision } | undefined): number {
  return precisionLadder.findIndex((r) => r.compute === pair?.compute && r.wire === pair?.wire);
}

export type EnergySource = 'nvml' | 'rapl' | 'model';

/** Running sums over the observed steps of one window at one rung (plain numbers, so it checkpoints as JSON). */
export interface WindowSums {
  steps: number;
  skipped: number;
  durationS: number;
  /** Σ energyJ over the steps whose energy counts (measured, or modelled when allowed). */
  energyJ: number;
  energySteps: number;
  /** Steps whose energy came from the model while allowModelEnergy is false. */
  modelSteps: number;
  /** The distinct sources of the energy that counted. */
  sources: EnergySource[];
  /** Steps that carried wire statistics, and their worst relError, Σ(r − c)², Σr², underflow and element counts. */
  statsSteps: number;
  relErrorMax: number;
  sumSquaredError: number;
  sumSquared: number;
  underflow: number;
  elements: number;
}

export function emptyWindow(): WindowSums {
  return {
    steps: 0,
    skipped: 0,
    durationS: 0,
    energyJ: 0,
    energySteps: 0,
    modelSteps: 0,
    sources: [],
    statsSteps: 0,
    relErrorMax: 0,
    sumSquaredError: 0,
    sumSquared: 0,
    underflow: 0,
    elements: 0,
  };
}

/** Adds one observed step (already checked) to the window. */
export function addStep(window: WindowSums, o: PrecisionObservation, allowModelEnergy: boolean): void {
  window.steps++;
  window.durationS += o.durationS;
  if (o.skipped) window.skipped++;
  if (o.energyJ !== undefined && o.energySource !== undefined) {
    if (o.energySource === 'model' && !allowModelEnergy) {
      window.modelSteps++;
    } else {
      window.energyJ += o.energyJ;
      window.energySteps++;
      if (!window.sources.includes(o.energySource)) window.sources.push(o.energySource);
    }
  }
  if (o.wireStats) {
    window.statsSteps++;
    window.relErrorMax = Math.max(window.relErrorMax, o.wireStats.relError);
    window.sumSquaredError += o.wireStats.sumSquaredError;
    window.sumSquared += o.wireStats.sumSquared;
    window.underflow += o.wireStats.underflow;
    window.elements += o.wireStats.count;
  }
}

/** What a finished window says about its rung. */
export interface WindowSummary {
  steps: number;
  /** Mean energy per step, or null when the window is no evidence (then `noEvidence` says why). */
  energyPerStepJ: number | null;
  source: EnergySource | null;
  /** Why the window is no evidence: which kind (history names each kind once in a row) and the text. */
  noEvidence: { kind: 'model' | 'missing' | 'mixed'; text: string } | null;
  /** Whether every step carried wire statistics. */
  complete: boolean;
  relErrorMax: number;
  /** ‖r − c‖/‖r‖ over the whole window's gradients. */
  relErrorWindow: number;
  underflowFraction: number;
  skippedFraction: number;
  meanDurationS: number;
}

/**
 * A window is energy evidence only when every step's energy counted and came from one source: a partial
 * or mixed window (say NVML for some steps, the model for others) compares nothing fairly.
 */
export function summarize(window: WindowSums): WindowSummary {
  let noEvidence: WindowSummary['noEvidence'] = null;
  if (window.modelSteps > 0) {
    noEvidence = { kind: 'model', text: `the energy of ${window.modelSteps} of ${window.steps} steps came from the model (allowModelEnergy is false)` };
  } else if (window.energySteps < window.steps) {
    noEvidence = { kind: 'missing', text: `${window.steps - window.energySteps} of ${window.steps} steps had no energy figure` };
  } else if (window.sources.length > 1) {
    noEvidence = { kind: 'mixed', text: `the energy mixed sources (${window.sources.join(', ')})` };
  } else if (window.energyJ === 0) {
    // A counter that did not move measured nothing; a saving relative to 0 J means nothing either.
    noEvidence = { kind: 'missing', text: `the energy counted 0 J over ${window.steps} steps` };
  }
  return {
    steps: window.steps,
    energyPerStepJ: noEvidence === null ? window.energyJ / window.steps : null,
    source: noEvidence === null ? window.sources[0] : null,
    noEvidence,
    complete: window.statsSteps === window.steps,
    relErrorMax: window.relErrorMax,
    relErrorWindow: window.sumSquared > 0 ? Math.sqrt(window.sumSquaredError / window.sumSquared) : 0,
    underflowFraction: window.elements > 0 ? window.underflow / window.elements : 0,
    skippedFraction: window.skipped / window.steps,
    meanDurationS: window.durationS / window.steps,
  };
}

/** 2.1e-3, 1e-2, 0: the way error bounds are usually written. */
export function sci(x: number): string {
  return x === 0 ? '0' : x.toExponential(1).replace('.0e', 'e').replace('e+', 'e');
}

/** Joules with three significant digits, without exponent notation for large values. */
export function joules(x: number): string {
  return `${Math.abs(x) >= 100 ? x.toFixed(0) : x.toPrecision(3)} J`;
}

/** A signed percentage with a real minus sign: −12.9 %. */
export function percent(fraction: number): string {
  const text = `${Math.abs(fraction * 100).toFixed(1)} %`;
  return fraction < 0 ? `\u2212${text}` : `+${text}`;
}
