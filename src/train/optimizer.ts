// The optimizer on the flat float32 master weights every rank holds: plain arrays, so its whole state
// checkpoints exactly and every rank applies bitwise the same update to bitwise the same gradients.
import { JouleError } from '../errors';
import type { OptimizerName } from './config';

export interface OptimizerState {
  name: OptimizerName;
  step: number;
  /** Adam's first and second moments, or SGD's momentum in `m`. */
  m: Float32Array;
  v: Float32Array | null;
}

export interface Optimizer {
  readonly name: OptimizerName;
  /** Updates `weights` in place from the averaged `grads`. */
  apply(weights: Float32Array, grads: Float32Array): void;
  state(): OptimizerState;
  load(state: OptimizerState): void;
}

/** Adam as published (Kingma and Ba), with bias correction, as torch.optim.Adam computes it. */
class Adam implements Optimizer {
  readonly name = 'adam' as const;
  private step = 0;
  private readonly m: Float32Array;
  private readonly v: Float32Array;

  constructor(size: number, private readonly lr: number, private readonly beta1 = 0.9, private readonly beta2 = 0.999, private readonly epsilon = 1e-8) {
    this.m = new Float32Array(size);
    this.v = new Float32Array(size);
  }

  apply(weights: Float32Array, grads: Float32Array): void {
    this.step += 1;
    const { m, v, beta1, beta2, epsilon } = this;
    const stepSize = this.lr / (1 - beta1 ** this.step);
    const correction2 = Math.sqrt(1 - beta2 ** this.step);
    for (let i = 0; i < weights.length; i++) {
      const g = grads[i];
      m[i] = beta1 * m[i] + (1 - beta1) * g;
      v[i] = beta2 * v[i] + (1 - beta2) * g * g;
      weights[i] -= (stepSize * m[i]) / (Math.sqrt(v[i]) / correction2 + epsilon);
    }
  }

  state(): OptimizerState {
    return { name: this.name, step: this.step, m: this.m, v: this.v };
  }

  load(state: OptimizerState): void {
    checkState(state, this.name, this.m.length);
    this.step = state.step;
    this.m.set(state.m);
    this.v.set(state.v!);
  }
}

/** SGD with momentum 0.9 (torch.optim.SGD's update: v = μv + g; w −= lr·v). */
class Sgd implements Optimizer {
  readonly name = 'sgd' as const;
  private step = 0;
  private readonly m: Float32Array;

  constructor(size: number, private readonly lr: number, private readonly momentum = 0.9) {
    this.m = new Float32Array(size);
  }

  apply(weights: Float32Array, grads: Float32Array): void {
    this.step += 1;
    const { m, momentum, lr } = this;
    for (let i = 0; i < weights.length; i++) {
      m[i] = momentum * m[i] + grads[i];
      weights[i] -= lr * m[i];
    }
  }

  state(): OptimizerState {
    return { name: this.name, step: this.step, m: this.m, v: null };
  }

  load(state: OptimizerState): void {
    checkState(state, this.name, this.m.length);
    this.step = state.step;
    this.m.set(state.m);
  }
}

function checkState(state: OptimizerState, name: OptimizerName, size: number): void {
  if (state.name !== name || state.m.length !== size || (name === 'adam' && state.v?.length !== size)) {
    throw new JouleError('JOULE_BAD_CHECKPOINT', `the checkpoint's optimizer is ${state.name} over ${state.m.length} weights; this run uses ${name} over ${size}`);
  }
}

export function makeOptimizer(name: OptimizerName, size: number, learningRate: number): Optimizer {
  return name === 'adam' ? new Adam(size, learningRate) : new Sgd(size, learningRate);
}

/** Default learning rates: Adam 2e-3 (twice the usual 1e-3: the small models here converge faster, see trainDefaults); SGD with momentum 0.05. */
export const defaultLearningRate: Record<OptimizerName, number> = { adam: 2e-3, sgd: 0.05 };
