// The kernels training needs that tfjs-wasm lacks (FACTS.md, "Training with tfjs"), registered for 'wasm'
// as native code from the addon that reads and writes the wasm heap in place.
import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { JouleError } from '../../errors';
import { native } from '../../native';
import { nativeConvShape, type Conv2DInfo } from './conv-shape';

type TensorInfo = tf.TensorInfo;
type Attrs = Record<string, unknown>;
type Pad = 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
type RoundingMode = 'floor' | 'round' | 'ceil' | undefined;
type Shape4 = [number, number, number, number];

interface KernelArgs {
  inputs: Record<string, TensorInfo>;
  backend: BackendWasm;
  attrs: Attrs;
}

function heap(backend: BackendWasm, info: TensorInfo): Float32Array {
  return backend.typedArrayFromHeap(info) as Float32Array;
}

/** wasm's own kernels that joule's replace, for the cases joule's do not compute (NCHW, fused bias, ...). */
const replaced = new Map<string, tf.KernelFunc>();

function channelsLast(dataFormat: unknown): boolean {
  return dataFormat === undefined || dataFormat === 'NHWC';
}

function requireChannelsLast(kernel: string, dataFormat: unknown): void {
  if (!channelsLast(dataFormat)) {
    throw new JouleError('JOULE_BAD_ARGUMENT', `${kernel} on wasm: joule's kernel computes NHWC only, not ${String(dataFormat)}`);
  }
}

function wasmOwn(kernel: string, args: KernelArgs): TensorInfo {
  return (replaced.get(kernel) as tf.KernelFunc)(args as unknown as Parameters<tf.KernelFunc>[0]) as TensorInfo;
}

function convInfo(xShape: number[], filterShape: number[], attrs: Attrs, depthwise: boolean): Conv2DInfo {
  return tf.backend_util.computeConv2DInfo(
    xShape as Shape4, filterShape as Shape4, attrs.strides as [number, number] | number,
    (attrs.dilations as [number, number] | number | undefined) ?? 1, attrs.pad as Pad,
    attrs.dimRoundingMode as RoundingMode, depthwise,
  );
}

/** Makes the output; runs `compute` on the heap views unless a zero-sized operand leaves only zeros. */
function convOutput(
  backend: BackendWasm, shape: number[], operands: TensorInfo[], compute: (out: Float32Array) => void,
): TensorInfo {
  const out = backend.makeOutput(shape, 'float32');
  // Views are taken after makeOutput, which may grow (and so replace) the heap's buffer.
  const view = heap(backend, out);
  if (operands.some((t) => tf.util.sizeFromShape(t.shape) === 0)) view.fill(0);
  else if (view.length > 0) compute(view);
  return out;
}

function conv2D(args: KernelArgs): TensorInfo {
  const { inputs, backend, attrs } = args;
  const { x, filter } = inputs;
  if (!channelsLast(attrs.dataFormat)) return wasmOwn('Conv2D', args);
  const info = convInfo(x.shape, filter.shape, attrs, false);
  return convOutput(backend, info.outShape, [x, filter], (out) =>
    native().conv2d(nativeConvShape(info), heap(backend, x), heap(backend, filter), out));
}

/** tf.layers' convolutions come here; joule computes the plain ones (no bias, linear), as resnets use them. */
function fusedConv2D(args: KernelArgs): TensorInfo {
  const { inputs, attrs } = args;
  const plain = inputs.bias == null && inputs.preluActivationWeights == null && (attrs.activation ?? 'linear') === 'linear';
  return plain ? conv2D(args) : wasmOwn('FusedConv2D', args);
}

function conv2DBackpropFilter({ inputs, backend, attrs }: KernelArgs): TensorInfo {
  const { x, dy } = inputs;
  requireChannelsLast('Conv2DBackpropFilter', attrs.dataFormat);
  const filterShape = attrs.filterShape as number[];
  const info = convInfo(x.shape, filterShape, attrs, false);
  return convOutput(backend, filterShape, [x, dy], (out) =>
    native().conv2dBackpropFilter(nativeConvShape(info), heap(backend, x), heap(backend, dy), out));
}

function conv2DBackpropInput(args: KernelArgs): TensorInfo {
  const { inputs, backend, attrs } = args;
  const { dy, filter } = inputs;
  if (!channelsLast(attrs.dataFormat)) return wasmOwn('Conv2DBackpropInput', args);
  const inputShape = attrs.inputShape as number[];
  const info = convInfo(inputShape, filter.shape, attrs, false);
  return convOutput(backend, inputShape, [dy, filter], (out) =>
    native().conv2dBackpropInput(nativeConvShape(info), heap(backend, dy), heap(backend, filter), out));
}

function depthwiseBackpropFilter({ inputs, backend, attrs }: KernelArgs): TensorInfo {
  const { x, dy } = inputs;
  const filterShape = attrs.filterShape as number[];
  const info = convInfo(x.shape, filterShape, attrs, true);
  return convOutput(backend, filterShape, [x, dy], (out) =>
    native().depthwiseConv2dBackpropFilter(nativeConvShape(info), heap(backend, x), heap(backend, dy), out));
}

function depthwiseBackpropInput({ inputs, backend, attrs }: KernelArgs): TensorInfo {
  const { dy, filter } = inputs;
  const inputShape = attrs.inputShape as number[];
  const info = convInfo(inputShape, filter.shape, attrs, true);
  return convOutput(backend, inputShape, [dy, filter], (out) =>
    native().depthwiseConv2dBackpropInput(nativeConvShape(info), heap(backend, dy), heap(backend, filter), out));
}

function unsortedSegmentSum({ inputs, backend, attrs }: KernelArgs): TensorInfo {
  const { x, segmentIds } = inputs;
  const numSegments = attrs.numSegments as number;
  if (x.dtype !== 'float32' && x.dtype !== 'int32') {
    throw new JouleError('JOULE_BAD_ARGUMENT', `UnsortedSegmentSum on wasm: x must be float32 or int32, not ${x.dtype}`);
  }
  const outShape = [numSegments, ...x.shape.slice(segmentIds.shape.length)];
  const out = backend.makeOutput(outShape, x.dtype);
  const view = backend.typedArrayFromHeap(out) as Float32Array | Int32Array;
  if (tf.util.sizeFromShape(segmentIds.shape) === 0 || view.length === 0) {
    view.fill(0);
    return out;
  }
  const ids = backend.typedArrayFromHeap(segmentIds) as Int32Array;
  native().unsortedSegmentSum(backend.typedArrayFromHeap(x) as Float32Array | Int32Array, ids, numSegments, view);
  return out;
}

function tile(args: KernelArgs): TensorInfo {
  const { inputs, backend, attrs } = args;
  const { x } = inputs;
  const reps = attrs.reps as number[];
  const outShape = x.shape.map((d, i) => d * reps[i]);
  if (x.dtype === 'string' || outShape.some((d) => d === 0)) return wasmOwn('Tile', args);
  const out = backend.makeOutput(outShape, x.dtype);
  native().tile(backend.typedArrayFromHeap(x), Int32Array.from(x.shape), Int32Array.from(reps), backend.typedArrayFromHeap(out));
  return out;
}

/** The count of leading axes a Sum or Mean reduces, when it reduces exactly those (batch normalization's). */
function leadingAxes(x: TensorInfo, axis: unknown): number {
  const axes = tf.util.parseAxisParam(axis as number | number[], x.shape).sort((a, b) => a - b);
  const leading = axes.length > 0 && axes.length < x.shape.length && axes.every((a, i) => a === i);
  return leading && x.dtype === 'float32' && tf.util.sizeFromShape(x.shape) > 0 ? axes.length : 0;
}

/** Sum and Mean over leading axes natively; other reductions go to wasm's own (which transposes first). */
function reduceLeading(kernel: 'Sum' | 'Mean', args: KernelArgs): TensorInfo {
  const { inputs, backend, attrs } = args;
  const { x } = inputs;
  const reduced = leadingAxes(x, attrs.axis);
  if (reduced === 0) return wasmOwn(kernel, args);
  const kept = x.shape.slice(reduced);
  const out = backend.makeOutput(attrs.keepDims ? [...x.shape.slice(0, reduced).map(() => 1), ...kept] : kept, 'float32');
  const view = heap(backend, out);
  native().sumRows(heap(backend, x), view.length, view);
  if (kernel === 'Mean') {
    const rows = tf.util.sizeFromShape(x.shape) / view.length;
    for (let i = 0; i < view.length; ++i) view[i] /= rows;
  }
  return out;
}

const channelOps = { Add: 0, Sub: 1, Multiply: 2 } as const;

/** True when `shape` is one value per channel of `full`: [C], or [1, ..., 1, C] of no higher rank. */
function perChannelOf(shape: number[], full: number[]): boolean {
  const channels = full[full.length - 1];
  return shape.length >= 1 && shape.length <= full.length && shape[shape.length - 1] === channels &&
    shape.slice(0, -1).every((d) => d === 1) && tf.util.sizeFromShape(full) > channels;
}

/** Binary operations of a tensor and a per-channel vector (batch normalization and its gradient) natively. */
function channelBinary(kernel: keyof typeof channelOps, args: KernelArgs): TensorInfo {
  const { inputs, backend } = args;
  const { a, b } = inputs;
  if (a.dtype !== 'float32' || b.dtype !== 'float32') return wasmOwn(kernel, args);
  const channelFirst = perChannelOf(a.shape, b.shape);
  if (!channelFirst && !perChannelOf(b.shape, a.shape)) return wasmOwn(kernel, args);
  const [full, perChannel] = channelFirst ? [b, a] : [a, b];
  const out = backend.makeOutput(full.shape, 'float32');
  native().channelBinary(channelOps[kernel], heap(backend, full), heap(backend, perChannel), channelFirst, heap(backend, out));
  return out;
}

function fusedBatchNorm(args: KernelArgs): TensorInfo {
  const { inputs, backend, attrs } = args;
  const { x, mean, variance, offset, scale } = inputs;
  const channels = x.shape[x.shape.length - 1];
  const vectors = [mean, variance, offset, scale].filter((t) => t != null);
  const fits = x.dtype === 'float32' && tf.util.sizeFromShape(x.shape) > 0 &&
    vectors.every((t) => t.dtype === 'float32' && tf.util.sizeFromShape(t.shape) === channels);
  if (!fits) return wasmOwn('FusedBatchNorm', args);
  const out = backend.makeOutput(x.shape, 'float32');
  native().batchNorm(heap(backend, x), heap(backend, mean), heap(backend, variance), offset ? heap(backend, offset) : null,
    scale ? heap(backend, scale) : null, (attrs.varianceEpsilon as number | undefined) ?? 0.001, heap(backend, out));
  return out;
}

/** Identity shares the input's heap memory (reference counted, as wasm's own Reshape does) where wasm's copies
 *  it: tf.layers reads every weight through an Identity each step. */
function identity(args: KernelArgs): TensorInfo {
  const { inputs, backend } = args;
  const { x } = inputs;
  if (x.dtype === 'string') return wasmOwn('Identity', args);
  backend.incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
}

const kernels: Record<string, (args: KernelArgs) => TensorInfo> = {
  Conv2D: conv2D,
  FusedConv2D: fusedConv2D,
  Conv2DBackpropFilter: conv2DBackpropFilter,
  Conv2DBackpropInput: conv2DBackpropInput,
  DepthwiseConv2dNativeBackpropFilter: depthwiseBackpropFilter,
  DepthwiseConv2dNativeBackpropInput: depthwiseBackpropInput,
  UnsortedSegmentSum: unsortedSegmentSum,
  Tile: tile,
  Sum: (args) => reduceLeading('Sum', args),
  Mean: (args) => reduceLeading('Mean', args),
  Add: (args) => channelBinary('Add', args),
  Sub: (args) => channelBinary('Sub', args),
  Multiply: (args) => channelBinary('Multiply', args),
  FusedBatchNorm: fusedBatchNorm,
  Identity: identity,
};

/**
 * Registers joule's kernels for 'wasm' (once per process; later calls find them in place) and returns their
 * names. The ones wasm has too (Conv2D, FusedConv2D, Conv2DBackpropInput, Tile, FusedBatchNorm, Identity, and Sum,
 * Mean, Add, Sub, Multiply for batch normalization's shapes) replace wasm's own, which measured several times slower
 * in a resnet-mini step (README, "wasm training kernels"); call it after the wasm backend has started, so that wasm's own kernels
 * are set up for the cases handed back to them.
 */
export function registerWasmTrainingKernels(): string[] {
  for (const [kernelName, kernelFunc] of Object.entries(kernels)) {
    const current = tf.getKernel(kernelName, 'wasm');
    if (current?.kernelFunc === kernelFunc) continue;
    if (current) {
      replaced.set(kernelName, current.kernelFunc);
      tf.unregisterKernel(kernelName, 'wasm');
    }
    tf.registerKernel({ kernelName, backendName: 'wasm', kernelFunc: kernelFunc as unknown as tf.KernelFunc });
  }
  return Object.keys(kernels);
}
