// Precision policies: which dtype training computes in and which dtype gradients travel in, per step.
// The contract every policy meets and the static policy; the adaptive one is in adaptive-policy.ts.
import { JouleError } from '../errors';
import type { CastStats } from './cast';
import type { LossScalerOptions } from './loss-scaler';

export type Precision = 'f32' | 'bf16' | 'f16';

/** What one training step runs with. */
export interface PrecisionDecision {
  /** The dtype of the forward/backward math (master weights stay f32 in every case). */
  compute: Precision;
  /** The dtype gradients cross the wire in (allreduce `wire` option; accumulation is always f32). */
  wire: Precision;
  /** Dynamic loss scaling, needed for f16 compute (its range is too small for raw gradients). */
  lossScaling: LossScalerOptions | false;
}

/** What a policy learns after each step. Energy carries its source; a model figure is never a measurement. */
export interface PrecisionObservation {
  step: number;
  durationS: number;
  energyJ?: number;
  energySource?: 'nvml' | 'rapl' | 'model';
  /** castStats of the gradients at the wire precision (relError, underflow, overflow, nonFinite). */
  wireStats?: CastStats;
  /** True when the loss scaler skipped the step. */
  skipped: boolean;
  /** The training loss, for policies that guard convergence. */
  loss?: number;
}

export interface PrecisionPolicy {
  readonly kind: 'static' | 'adaptive';
  /** The decision for `step`; training calls it before the step. */
  decide(step: number): PrecisionDecision;
  /** Training reports each finished step. */
  observe(observation: PrecisionObservation): void;
  /** For checkpoints, beside the LossScaler's state. */
  state(): unknown;
  load(state: unknown): void;
}

const precisions: readonly Precision[] = ['f32', 'bf16', 'f16'];

/** One decision for every step: `fp32`, `bf16` (compute and wire) or `f16` (with loss scaling), or explicit. */
export class StaticPolicy implements PrecisionPolicy {
  readonly kind = 'static' as const;
  private readonly decision: PrecisionDecision;

  constructor(decision: Precision | PrecisionDecision) {
    const d: PrecisionDecision =
      typeof decision === 'string' ? { compute: decision, wire: decision, lossScaling: decision === 'f16' ? {} : false } : decision;
    if (!precisions.includes(d?.compute) || !precisions.includes(d?.wire)) {
      throw new JouleError('JOULE_BAD_ARGUMENT', `precision policy: compute and wire must be one of ${precisions.join(', ')} (got ${JSON.stringify(decision)})`);
    }
    this.decision = { ...d };
  }

  decide(): PrecisionDecision {
    return { ...this.decision };
  }

  observe(): void {
    // A static policy does not change with what it observes.
  }

  state(): PrecisionDecision {
    return this.decide();
  }

  load(state: unknown): void {
    const d = state as PrecisionDecision;
    if (d?.compute !== this.decision.compute || d?.wire !== this.decision.wire) {
      throw new JouleError('JOULE_BAD_ARGUMENT', `precision policy: the checkpoint used ${JSON.stringify(state)}, this run ${JSON.stringify(this.decision)}`);
    }
  }
}
