// Gradients of Sum and Mean as a broadcast of dy (a Tile) instead of tfjs's dy × ones(x.shape): the ones
// array is filled element by element in JavaScript for every batch-norm statistic of every step, the
// largest single cost of a resnet-mini step on wasm once the kernels are native. Bitwise the same values
// (a product with 1 is exact), so registering them (globally: tfjs keeps one gradient registry) changes no result.
import * as tf from '@tensorflow/tfjs';

function expandedDy(dy: tf.Tensor, x: tf.Tensor, axis: unknown): { dy: tf.Tensor; axes: number[] } {
  const axes = tf.util.parseAxisParam(axis as number | number[], x.shape);
  const shape = x.shape.slice();
  for (const a of axes) shape[a] = 1;
  const reshaped = tf.reshape(dy, shape);
  return { dy: dy.dtype === 'float32' ? reshaped : tf.cast(reshaped, 'float32'), axes };
}

const sumGradient: tf.GradConfig = {
  kernelName: 'Sum',
  inputsToSave: ['x'],
  gradFunc: (dy, saved, attrs) => {
    const [x] = saved;
    const derX = tf.broadcastTo(expandedDy(dy as tf.Tensor, x, attrs.axis).dy, x.shape);
    return { x: () => derX };
  },
};

const meanGradient: tf.GradConfig = {
  kernelName: 'Mean',
  inputsToSave: ['x'],
  gradFunc: (dy, saved, attrs) => {
    const [x] = saved;
    return {
      x: () => {
        const { dy: expanded, axes } = expandedDy(dy as tf.Tensor, x, attrs.axis);
        const reduceSize = axes.reduce((size, a) => size * x.shape[a], 1);
        return tf.div(tf.broadcastTo(expanded, x.shape), reduceSize);
      },
    };
  },
};

/** Registers the two gradients (idempotent) and returns what it registered, for the run record. */
export function registerBroadcastGradients(): string[] {
  for (const config of [sumGradient, meanGradient]) tf.registerGradient(config);
  return ['Sum gradient', 'Mean gradient'];
}
