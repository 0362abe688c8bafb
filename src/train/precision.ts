// The precision policies `joule train --precision` offers, restricted to what is real on tfjs: tfjs
// computes in float32 only, so every rung keeps f32 compute and only the gradients' wire precision moves.
import { AdaptivePolicy } from '../precision/adaptive-policy';
import { StaticPolicy, type PrecisionPolicy } from '../precision/policy';
import type { PrecisionChoice } from './config';

export interface PolicyOptions {
  allowModelEnergy: boolean;
  /** Observed steps per adaptive window. */
  windowSteps: number;
}

/**
 * fp32: f32 everywhere. bf16: gradients cross the wire as bf16 (half the bytes, f32's range, no loss
 * scaling). fp16: gradients cross as f16 under dynamic loss scaling (a step whose averaged gradients
 * overflow is skipped on every rank alike). adaptive: the AdaptivePolicy on the ladder f32/f32 → f32/bf16,
 * the only rungs that can save anything when compute stays f32.
 */
export function makePolicy(choice: PrecisionChoice, options: PolicyOptions): PrecisionPolicy {
  switch (choice) {
    case 'fp32':
      return new StaticPolicy({ compute: 'f32', wire: 'f32', lossScaling: false });
    case 'bf16':
      return new StaticPolicy({ compute: 'f32', wire: 'bf16', lossScaling: false });
    case 'fp16':
      return new StaticPolicy({ compute: 'f32', wire: 'f16', lossScaling: {} });
    case 'adaptive':
      return new AdaptivePolicy({
        floor: { compute: 'f32', wire: 'bf16' },
        allowModelEnergy: options.allowModelEnergy,
        windowSteps: options.windowSteps,
        warmupSteps: Math.min(5, Math.max(1, Math.floor(options.windowSteps / 5))),
      });
  }
}
