// One pipeline stage: its consecutive layers of the model run eagerly from the tensor that enters the stage
// to the one that leaves it, its forward pass, and its backward pass (the vector-Jacobian product with the
// gradient that comes back from the next stage).
import * as tf from '@tensorflow/tfjs';
import { lossAndCorrect, type ModelSpec } from '../models';
import { computeLayers, type StagePlan } from './split';

export interface StageGradients {
  /** The gradient with respect to the stage's input (null on the first stage: its input is data). */
  dx: Float32Array | null;
  /** In the order of `trainable`. */
  grads: tf.Tensor[];
}

export class Stage {
  readonly layers: tf.layers.Layer[];
  readonly trainable: tf.Variable[];
  readonly statistics: tf.Variable[];
  /** Per sample, for the fixed-size buffers between stages. */
  readonly inputShape: number[];
  readonly outputShape: number[];

  constructor(private readonly spec: ModelSpec, private readonly plan: StagePlan, readonly first: boolean, readonly last: boolean) {
    this.layers = computeLayers(spec.model).slice(plan.first, plan.end);
    this.trainable = this.layers.flatMap((l) => l.trainableWeights.map((w) => w.read() as tf.Variable));
    this.statistics = this.layers.flatMap((l) => l.nonTrainableWeights.map((w) => w.read() as tf.Variable));
    this.inputShape = plan.input.shape.slice(1) as number[];
    this.outputShape = plan.output.shape.slice(1) as number[];
  }

  get inputSize(): number {
    return this.inputShape.reduce((p, d) => p * d, 1);
  }

  get outputSize(): number {
    return this.outputShape.reduce((p, d) => p * d, 1);
  }

  /** The stage's layers applied in forward order; each layer reads the values its graph node names. */
  forward(x: tf.Tensor, training: boolean): tf.Tensor {
    const values = new Map<number, tf.Tensor>([[this.plan.input.id, x]]);
    for (const layer of this.layers) {
      const inputs = (layer.inboundNodes[0].inputTensors as tf.SymbolicTensor[]).map((t) => values.get(t.id)!);
      values.set((layer.output as tf.SymbolicTensor).id, layer.apply(inputs.length === 1 ? inputs[0] : inputs, { training }) as tf.Tensor);
    }
    return values.get(this.plan.output.id)!;
  }

  /** A forward pass whose output leaves the stage (its gradient is taken later, by recomputation). */
  forwardOut(x: tf.Tensor): Float32Array {
    const out = tf.tidy(() => this.forward(x, true));
    const data = (out.dataSync() as Float32Array).slice();
    out.dispose();
    return data;
  }

  /**
   * Backward through a stage that is not the last: its forward pass recomputed under the tape (as GPipe's
   * re-materialisation does: tfjs keeps no tape between calls), then the vector-Jacobian product with `dy`.
   * The recomputation must not move the batch-norm running statistics a second time, so they are restored.
   */
  backward(x: tf.Tensor, dy: tf.Tensor): StageGradients {
    const saved = this.statistics.map((v) => tf.clone(v));
    const sources = this.first ? this.trainable : [x, ...this.trainable];
    const { value, grads } = tf.engine().gradients(() => this.forward(x, true), sources, dy, true);
    value.dispose();
    this.statistics.forEach((v, i) => v.assign(saved[i]));
    tf.dispose(saved);
    return this.split(grads);
  }

  /** The last stage: forward, the loss (mean over the micro-batch) and its gradients in one pass. */
  lossAndBackward(x: tf.Tensor, labels: tf.Tensor): StageGradients & { loss: number; correct: number; counted: number } {
    let correct: tf.Scalar | undefined;
    let counted = 0;
    const sources = this.first ? this.trainable : [x, ...this.trainable];
    const { value, grads } = tf.engine().gradients(() => {
      const out = lossAndCorrect(this.spec, this.forward(x, true), labels);
      correct = tf.keep(out.correct);
      counted = out.counted;
      return out.loss;
    }, sources, undefined, true);
    const result = { ...this.split(grads), loss: value.dataSync()[0], correct: correct!.dataSync()[0], counted };
    value.dispose();
    correct!.dispose();
    return result;
  }

  private split(grads: tf.Tensor[]): StageGradients {
    if (this.first) return { dx: null, grads: this.zeroFilled(grads) };
    const dx = (grads[0].dataSync() as Float32Array).slice();
    grads[0].dispose();
    return { dx, grads: this.zeroFilled(grads.slice(1)) };
  }

  /** A weight the loss does not reach gets a zero gradient, so the slots always line up. */
  private zeroFilled(grads: (tf.Tensor | null)[]): tf.Tensor[] {
    return grads.map((g, i) => g ?? tf.zerosLike(this.trainable[i]));
  }
}
