// Dynamic loss scaling with the semantics of PyTorch AMP's GradScaler: scale the loss, unscale the
// gradients with a fused finite check, skip the step and back off on overflow, grow after a quiet run.
import { JouleError } from '../errors';
import { castStats, castStatsAsync } from './cast';

export interface LossScalerOptions {
  /** Starting scale (GradScaler: 2^16). */
  initScale?: number;
  /** Multiplies the scale after `growthInterval` steps in a row without overflow (GradScaler: 2). */
  growthFactor?: number;
  /** Multiplies the scale when a step overflows (GradScaler: 0.5). */
  backoffFactor?: number;
  /** Steps without overflow before the scale grows (GradScaler: 2000). */
  growthInterval?: number;
  /** The scale never drops below this (GradScaler has no floor; the default, 2^-24, only stops underflow to 0). */
  minScale?: number;
  /** The scale never grows past this (default 2^24; float32 holds far more, but the gradients would not). */
  maxScale?: number;
  /** When false, scale() is 1 and update() never skips (the same code path runs in f32 training). */
  enabled?: boolean;
}

/** What a checkpoint stores and load() restores. */
export interface LossScalerState {
  scale: number;
  growthTracker: number;
  /** Counters for reports: steps seen and steps skipped for overflow. */
  steps: number;
  skipped: number;
  options: Required<LossScalerOptions>;
}

export interface UnscaleResult {
  /** True when every gradient was finite after unscaling. */
  finite: boolean;
  /** How many gradient values were NaN or ±Inf. */
  nonFinite: number;
}

export interface UpdateResult {
  /** True when the optimizer step must be skipped (the gradients overflowed). */
  skipped: boolean;
  /** The scale for the next step. */
  scale: number;
}

const defaults: Required<LossScalerOptions> = {
  initScale: 2 ** 16,
  growthFactor: 2,
  backoffFactor: 0.5,
  growthInterval: 2000,
  minScale: 2 ** -24,
  maxScale: 2 ** 24,
  enabled: true,
};

function badOption(message: string): JouleError {
  return new JouleError('JOULE_BAD_ARGUMENT', `LossScaler: ${message}`);
}

function checkOptions(options: Required<LossScalerOptions>): void {
  const positive = (name: keyof LossScalerOptions) => {
    const value = options[name];
    if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) throw badOption(`${name} must be a finite positive number (got ${String(value)})`);
  };
  positive('initScale');
  positive('minScale');
  positive('maxScale');
  positive('growthFactor');
  positive('backoffFactor');
  if (options.growthFactor <= 1) throw badOption(`growthFactor must be greater than 1 (got ${options.growthFactor})`);
  if (options.backoffFactor >= 1) throw badOption(`backoffFactor must be less than 1 (got ${options.backoffFactor})`);
  if (!Number.isInteger(options.growthInterval) || options.growthInterval < 1) {
    throw badOption(`growthInterval must be a positive integer (got ${String(options.growthInterval)})`);
  }
  if (options.minScale > options.maxScale) throw badOption('minScale is larger than maxScale');
  if (options.initScale < options.minScale || options.initScale > options.maxScale) throw badOption('initScale is outside [minScale, maxScale]');
  if (!Number.isFinite(Math.fround(1 / options.minScale)) || Math.fround(options.maxScale) === Infinity) {
    throw badOption('minScale and maxScale must keep the scale and its inverse in float32 range');
  }
  if (typeof options.enabled !== 'boolean') throw badOption('enabled must be a boolean');
}

/**
 * One training loop's loss scale. Per step: multiply the loss by `scale` (scaleLoss), back-propagate,
 * `unscale(grads)` (divides in place and checks finiteness in the same pass), then `update(result)`:
 * it says whether to skip the optimizer step and moves the scale. `step()` does the last three at once.
 */
export class LossScaler {
  private options: Required<LossScalerOptions>;
  private currentScale: number;
  private growthTracker = 0;
  private steps = 0;
  private skipped = 0;

  constructor(options: LossScalerOptions = {}) {
    this.options = { ...defaults, ...options };
    checkOptions(this.options);
    this.currentScale = this.options.initScale;
  }

  /** The factor the loss is multiplied by (1 when disabled). */
  get scale(): number {
    return this.options.enabled ? this.currentScale : 1;
  }

  scaleLoss(loss: number): number {
    return loss * this.scale;
  }

  /** Divides every gradient by the scale in place and counts non-finite values, in one pass per array. */
  unscale(grads: Float32Array | readonly Float32Array[]): UnscaleResult {
    let nonFinite = 0;
    const inverse = 1 / this.scale;
    for (const grad of Array.isArray(grads) ? grads : [grads as Float32Array]) {
      nonFinite += castStats(grad, { to: 'f32', scale: inverse, out: grad }).nonFinite;
    }
    return { finite: nonFinite === 0, nonFinite };
  }

  /** unscale() on worker threads, for gradients large enough to hold up the event loop. */
  async unscaleAsync(grads: Float32Array | readonly Float32Array[]): Promise<UnscaleResult> {
    const inverse = 1 / this.scale;
    const list = Array.isArray(grads) ? grads : [grads as Float32Array];
    const stats = await Promise.all(list.map((grad) => castStatsAsync(grad, { to: 'f32', scale: inverse, out: grad })));
    const nonFinite = stats.reduce((sum, s) => sum + s.nonFinite, 0);
    return { finite: nonFinite === 0, nonFinite };
  }

  /**
   * Ends a step: on overflow the scale backs off and the step must be skipped; otherwise, after
   * `growthInterval` clean steps in a row, the scale grows. Disabled scalers never skip.
   */
  update(result: UnscaleResult | { finite: boolean }): UpdateResult {
    this.steps++;
    if (!this.options.enabled) return { skipped: false, scale: 1 };
    if (!result.finite) {
      this.currentScale = Math.max(this.options.minScale, this.currentScale * this.options.backoffFactor);
      this.growthTracker = 0;
      this.skipped++;
      return { skipped: true, scale: this.currentScale };
    }
    this.growthTracker++;
    if (this.growthTracker >= this.options.growthInterval) {
      this.currentScale = Math.min(this.options.maxScale, this.currentScale * this.options.growthFactor);
      this.growthTracker = 0;
    }
    return { skipped: false, scale: this.currentScale };
  }

  /** unscale + update + the optimizer step when the gradients are finite; returns whether it ran. */
  step(grads: Float32Array | readonly Float32Array[], applyStep: () => void): boolean {
    const result = this.update(this.unscale(grads));
    if (!result.skipped) applyStep();
    return !result.skipped;
  }

  state(): LossScalerState {
    return { scale: this.currentScale, growthTracker: this.growthTracker, steps: this.steps, skipped: this.skipped, options: { ...this.options } };
  }

  /** Restores a checkpointed state (options included), checking it as the constructor does. */
  load(state: LossScalerState): void {
    if (state === null || typeof state !== 'object') throw badOption('load() needs a state object from state()');
    const options = { ...defaults, ...state.options };
    checkOptions(options);
    const { scale, growthTracker, steps, skipped } = state;
    if (typeof scale !== 'number' || !Number.isFinite(scale) || scale < options.minScale || scale > options.maxScale) {
      throw badOption(`state.scale ${String(scale)} is outside [minScale, maxScale]`);
    }
    for (const [name, value] of Object.entries({ growthTracker, steps, skipped })) {
      if (!Number.isInteger(value) || (value as number) < 0) throw badOption(`state.${name} must be a non-negative integer`);
    }
    if (growthTracker >= options.growthInterval) throw badOption('state.growthTracker is not below growthInterval');
    this.options = options;
    this.currentScale = scale;
    this.growthTracker = growthTracker;
    this.steps = steps;
    this.skipped = skipped;
  }
}
