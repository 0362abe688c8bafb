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

/** wasm's own kernels that joule's replace, for the cases joule's do not compute (NCHW, fused bias). */
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

const kernels: Record<string, (args: KernelArgs) => TensorInfo> = {
  Conv2D: conv2D,
  FusedConv2D: fusedConv2D,
  Conv2DBackpropFilter: conv2DBackpropFilter,
  Conv2DBackpropInput: conv2DBackpropInput,
  DepthwiseConv2dNativeBackpropFilter: depthwiseBackpropFilter,
  DepthwiseConv2dNativeBackpropInput: depthwiseBackpropInput,
  UnsortedSegmentSum: unsortedSegmentSum,
};

/**
 * Registers joule's kernels for 'wasm' (once per process; later calls find them in place) and returns their
 * names. Conv2D, FusedConv2D and Conv2DBackpropInput replace wasm's own, which measured several times slower
 * (README, "wasm training kernels"); call it after the wasm backend has started, so that wasm's own kernels
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
