// Parameters and forward FLOPs per sample, layer by layer, read from a built model (a multiply-add counts 2).
import * as tf from '@tensorflow/tfjs';
import { MultiHeadAttention } from './bert';

export interface LayerCost {
  name: string;
  parameters: number;
  flopsPerSample: number;
}

/**
 * Layers whose FLOPs are not counted: normalisation, activations, pooling, residual adds, lookups and bias adds are
 * a few operations per element, next to the multiply-adds of convolutions, dense layers and attention (the
 * convention of fvcore, ptflops and the torchvision model tables, there in multiply-adds).
 */
const uncountedClasses = new Set([
  'InputLayer', 'BatchNormalization', 'LayerNormalization', 'ReLU', 'Activation', 'Add', 'Flatten',
  'GlobalAveragePooling2D', 'MaxPooling2D', 'Embedding', 'JoulePositionEmbedding',
]);

const product = (values: readonly number[]) => values.reduce((p, v) => p * v, 1);

/** Every layer after the input, in the model's order. A layer of a kind not known here is an error, never a silent 0. */
export function layerCosts(model: tf.LayersModel): LayerCost[] {
  return model.layers
    .filter((layer) => layer.getClassName() !== 'InputLayer')
    .map((layer) => ({
      name: layer.name,
      parameters: layer.trainableWeights.reduce((sum, w) => sum + product(w.shape as number[]), 0),
      flopsPerSample: forwardFlops(layer),
    }));
}

function forwardFlops(layer: tf.layers.Layer): number {
  const className = layer.getClassName();
  const outputShape = layer.outputShape as number[];
  if (className === 'Conv2D') {
    // kernel [kh, kw, in, out]; each output element is kh·kw·in multiply-adds.
    const [kh, kw, inChannels, outChannels] = layer.weights[0].shape as number[];
    return 2 * kh * kw * inChannels * outChannels * outputShape[1] * outputShape[2];
  }
  if (className === 'Dense') {
    // A dense layer applies to the last axis, once per position of the others (e.g. per token).
    const [inUnits, outUnits] = layer.weights[0].shape as number[];
    return 2 * inUnits * outUnits * product(outputShape.slice(1, -1));
  }
  if (layer instanceof MultiHeadAttention) return layer.flopsPerSample();
  if (uncountedClasses.has(className)) return 0;
  throw new Error(`no FLOP rule for layer ${layer.name} (${className})`);
}

export function totalCost(layers: readonly LayerCost[]): { parameters: number; flopsPerSample: number } {
  return {
    parameters: layers.reduce((sum, l) => sum + l.parameters, 0),
    flopsPerSample: layers.reduce((sum, l) => sum + l.flopsPerSample, 0),
  };
}
