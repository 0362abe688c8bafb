// The adaptive policy's options (documented defaults, validation) and the checks on what training reports.
import { JouleError } from '../errors';
import { precisionLadder, rungIndex } from './ladder';
import { LossScaler, type LossScalerOptions } from './loss-scaler';
import type { Precision, PrecisionObservation } from './policy';

type RungPair = { compute: Precision; wire: Precision };

export interface AdaptivePolicyOptions {
  /** The rung training starts at (default f32/f32: the policy earns every step down). */
  start?: RungPair;
  /** The lowest rung it may reach (default f16/f16, the bottom of the ladder); at or below `start`. */
  floor?: RungPair;
  /** Observed steps per window: one measurement of a rung (default 100). */
  windowSteps?: number;
  /**
   * Steps at each new rung (and at the start) left out of its window (default 5): they pay one-time
   * costs (re-cast weights, kernel selection, the loss scaler finding its scale) that would bias the
   * comparison. They are still checked for violations, except skips.
   */
  warmupSteps?: number;
  /** Largest wire relError of any step (default 1e-2; bf16 rounding alone gives about 2e-3). */
  maxRelError?: number;
  /** Largest share of one step's wire values that may underflow to zero (default 1e-3). */
  maxUnderflowFraction?: number;
  /** Largest share of a window's steps the loss scaler may skip (default 0.1). */
  maxSkippedFraction?: number;
  /** Energy per step must drop by at least this share to keep a lower rung (default 0.05: above NVML's window-to-window noise). */
  minSavingFraction?: number;
  /** Let energy from the model count as evidence (default false: only nvml or rapl measurements). */
  allowModelEnergy?: boolean;
  /** Windows before a rejected or violating rung is tried again (default 50; 0: never again). */
  retryAfterWindows?: number;
  /** The LossScaler options of rungs that need loss scaling (default {}: GradScaler's). */
  lossScaling?: LossScalerOptions;
}

export type ResolvedOptions = Required<AdaptivePolicyOptions>;

export const adaptiveDefaults: ResolvedOptions = {
  start: { compute: 'f32', wire: 'f32' },
  floor: { compute: 'f16', wire: 'f16' },
  windowSteps: 100,
  warmupSteps: 5,
  maxRelError: 1e-2,
  maxUnderflowFraction: 1e-3,
  maxSkippedFraction: 0.1,
  minSavingFraction: 0.05,
  allowModelEnergy: false,
  retryAfterWindows: 50,
  lossScaling: {},
};

function badOption(message: string): JouleError {
  return new JouleError('JOULE_BAD_ARGUMENT', `AdaptivePolicy: ${message}`);
}

export function resolveOptions(options: AdaptivePolicyOptions): ResolvedOptions {
  if (options === null || typeof options !== 'object') throw badOption('options must be an object');
  for (const key of Object.keys(options)) {
    if (!(key in adaptiveDefaults)) throw badOption(`unknown option ${JSON.stringify(key)} (known: ${Object.keys(adaptiveDefaults).join(', ')})`);
  }
  const o: ResolvedOptions = { ...adaptiveDefaults, ...(Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) as AdaptivePolicyOptions) };
  const labels = precisionLadder.map((r) => r.label).join(', ');
  for (const name of ['start', 'floor'] as const) {
    if (rungIndex(o[name]) < 0) throw badOption(`${name} must be a rung of the ladder (${labels}), got ${JSON.stringify(o[name])}`);
    o[name] = { compute: o[name].compute, wire: o[name].wire };
  }
  if (rungIndex(o.floor) < rungIndex(o.start)) throw badOption(`floor ${o.floor.compute}/${o.floor.wire} is above start ${o.start.compute}/${o.start.wire}`);
  const integer = (name: 'windowSteps' | 'warmupSteps' | 'retryAfterWindows', min: number) => {
    if (!Number.isInteger(o[name]) || o[name] < min) throw badOption(`${name} must be an integer ≥ ${min} (got ${String(o[name])})`);
  };
  integer('windowSteps', 1);
  integer('warmupSteps', 0);
  integer('retryAfterWindows', 0);
  for (const name of ['maxRelError', 'maxUnderflowFraction', 'maxSkippedFraction', 'minSavingFraction'] as const) {
    const value = o[name];
    const max = name === 'maxRelError' ? Infinity : 1;
    if (typeof value !== 'number' || !(value >= 0 && value < max) || !Number.isFinite(value)) {
      throw badOption(`${name} must be a finite number in [0, ${max === 1 ? '1)' : '∞)'} (got ${String(value)})`);
    }
  }
  if (typeof o.allowModelEnergy !== 'boolean') throw badOption(`allowModelEnergy must be a boolean (got ${String(o.allowModelEnergy)})`);
  try {
    new LossScaler(o.lossScaling);
  } catch (error) {
    throw badOption(`lossScaling: ${(error as Error).message}`);
  }
  o.lossScaling = { ...o.lossScaling };
  return o;
}

/** JSON with sorted keys, so two option sets compare by content. */
export function canonical(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
  return `{${entries.sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
}

export function checkObservation(o: PrecisionObservation): void {
  const bad = (message: string) => new JouleError('JOULE_BAD_ARGUMENT', `AdaptivePolicy.observe: ${message}`);
  if (o === null || typeof o !== 'object') throw bad('needs an observation object');
  if (!Number.isInteger(o.step) || o.step < 0) throw bad(`step must be a non-negative integer (got ${String(o.step)})`);
  if (typeof o.durationS !== 'number' || !(o.durationS >= 0) || !Number.isFinite(o.durationS)) throw bad(`durationS must be a finite number ≥ 0 (got ${String(o.durationS)})`);
  if (typeof o.skipped !== 'boolean') throw bad('skipped must be a boolean');
  if (o.energyJ !== undefined) {
    if (typeof o.energyJ !== 'number' || !(o.energyJ >= 0) || !Number.isFinite(o.energyJ)) throw bad(`energyJ must be a finite number ≥ 0 (got ${String(o.energyJ)})`);
    // An energy figure without its source could be a model passed off as a measurement.
    if (!['nvml', 'rapl', 'model'].includes(o.energySource as string)) throw bad(`energyJ needs energySource 'nvml', 'rapl' or 'model' (got ${String(o.energySource)})`);
  }
  if (o.loss !== undefined && typeof o.loss !== 'number') throw bad('loss must be a number');
  if (o.wireStats !== undefined) {
    for (const key of ['relError', 'underflow', 'overflow', 'sumSquaredError', 'sumSquared', 'count'] as const) {
      const value = o.wireStats?.[key];
      if (typeof value !== 'number' || !(value >= 0) || !Number.isFinite(value)) throw bad(`wireStats.${key} must be a finite number ≥ 0 (got ${String(value)})`);
    }
  }
}
