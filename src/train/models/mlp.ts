// A two-layer perceptron (flatten → 128 ReLU → logits): the smallest model, for smoke tests.
import * as tf from '@tensorflow/tfjs';
import { SeededInitializers } from './initializers';

const hiddenUnits = 128;

export function buildMlp(inputShape: number[], numClasses: number, seed: number): tf.LayersModel {
  const init = new SeededInitializers(seed);
  const input = tf.input({ name: 'features', shape: inputShape });
  let x = tf.layers.flatten({ name: 'flatten' }).apply(input) as tf.SymbolicTensor;
  x = tf.layers.dense({ name: 'hidden', units: hiddenUnits, activation: 'relu', kernelInitializer: init.glorot() }).apply(x) as tf.SymbolicTensor;
  const logits = tf.layers.dense({ name: 'logits', units: numClasses, kernelInitializer: init.glorot() }).apply(x) as tf.SymbolicTensor;
  return tf.model({ name: 'mlp', inputs: input, outputs: logits });
}
