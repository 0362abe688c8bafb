// The kernels joule registers for tfjs-wasm, each against the cpu backend (float tolerance), the gradients of
// a small convnet and of an embedding on wasm against cpu, the native argument checks, and selectTfBackend.
import { strict as assert } from 'node:assert';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { isJouleError } from '../../src/errors';
import { native } from '../../src/native';
import { selectTfBackend } from '../../src/train/backend';

type Inputs = Record<string, { shape: number[]; values: number[]; dtype?: 'float32' | 'int32' | 'bool' }>;

/** Deterministic values in [-1, 1) (a small LCG, so the test owns its data). */
function values(count: number, seed: number): number[] {
  let state = seed >>> 0;
  return Array.from({ length: count }, () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 31 - 1;
  });
}

function input(shape: number[], seed: number): Inputs[string] {
  return { shape, values: values(tf.util.sizeFromShape(shape), seed) };
}

async function runOn(backend: 'cpu' | 'wasm', kernel: string, inputs: Inputs, attrs: Record<string, unknown>): Promise<{ shape: number[]; data: number[] }> {
  await tf.setBackend(backend);
  const tensors = Object.fromEntries(Object.entries(inputs).map(([k, v]) => [k, tf.tensor(v.values, v.shape, v.dtype ?? 'float32')]));
  const out = tf.engine().runKernel(kernel, tensors, attrs as tf.NamedAttrMap) as tf.Tensor;
  const result = { shape: out.shape, data: Array.from(await out.data()) };
  tf.dispose([out, ...Object.values(tensors)]);
  return result;
}

/** Largest absolute difference, relative to the largest reference magnitude. */
function relativeError(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  assert.equal(actual.length, expected.length, 'lengths differ');
  let scale = 0;
  let worst = 0;
  for (let i = 0; i < expected.length; ++i) scale = Math.max(scale, Math.abs(expected[i]));
  for (let i = 0; i < expected.length; ++i) worst = Math.max(worst, Math.abs(actual[i] - expected[i]));
  return scale === 0 ? worst : worst / scale;
}

async function expectSame(kernel: string, inputs: Inputs, attrs: Record<string, unknown>, tolerance = 1e-5): Promise<void> {
  const wasm = await runOn('wasm', kernel, inputs, attrs);
  const cpu = await runOn('cpu', kernel, inputs, attrs);
  assert.deepEqual(wasm.shape, cpu.shape, `${kernel}: shapes differ`);
  const error = relativeError(wasm.data, cpu.data);
  assert.ok(error <= tolerance, `${kernel} ${JSON.stringify(attrs)}: relative error ${error} > ${tolerance}`);
  assert.ok(cpu.data.some((v) => v !== 0), `${kernel}: the reference is all zeros, so the case checks nothing`);
}

describe('train: joule kernels for tfjs-wasm', function () {
  this.timeout(300_000);
  let previousBackend: string;

  before(async () => {
    previousBackend = tf.getBackend();
    const runtime = await selectTfBackend('wasm');
    assert.equal(runtime.backend, 'wasm');
    for (const name of ['Conv2DBackpropFilter', 'DepthwiseConv2dNativeBackpropFilter', 'DepthwiseConv2dNativeBackpropInput', 'UnsortedSegmentSum']) {
      assert.ok(runtime.registered.includes(name), `${name} is registered`);
    }
  });
  after(async () => {
    if (previousBackend) await tf.setBackend(previousBackend);
  });

  // [x shape, filter shape, strides, pad]: channels 1/3/16 in, tails and two-vector blocks out, batch 1/5.
  const convCases: [number[], number[], number | [number, number], unknown][] = [
    [[1, 7, 7, 1], [3, 3, 1, 16], 1, 'same'],
    [[5, 9, 8, 3], [3, 3, 3, 20], 2, 'same'],
    [[2, 8, 9, 16], [3, 3, 16, 40], 1, 'valid'],
    [[1, 10, 10, 16], [1, 1, 16, 32], 2, 'same'],
    [[5, 6, 7, 12], [2, 3, 12, 5], [2, 1], 'valid'],
    [[1, 9, 9, 3], [3, 3, 3, 16], 2, [[0, 0], [1, 2], [2, 0], [0, 0]]],
    [[2, 11, 11, 1], [5, 5, 1, 3], 3, 'same'],
  ];

  for (const [xShape, filterShape, strides, pad] of convCases) {
    const label = `x ${xShape} filter ${filterShape} strides ${strides} pad ${JSON.stringify(pad)}`;
    const info = tf.backend_util.computeConv2DInfo(xShape as [number, number, number, number], filterShape as [number, number, number, number],
      strides, 1, pad as 'same');
    const common = { strides, pad, dataFormat: 'NHWC', dimRoundingMode: undefined };

    it(`Conv2DBackpropFilter matches cpu: ${label}`, async () => {
      await expectSame('Conv2DBackpropFilter', { x: input(xShape, 1), dy: input(info.outShape, 2) }, { ...common, filterShape });
    });
    it(`Conv2DBackpropInput matches cpu: ${label}`, async () => {
      await expectSame('Conv2DBackpropInput', { dy: input(info.outShape, 3), filter: input(filterShape, 4) }, { ...common, inputShape: xShape });
    });
    it(`Conv2D and FusedConv2D match cpu: ${label}`, async () => {
      const inputs = { x: input(xShape, 5), filter: input(filterShape, 6) };
      await expectSame('Conv2D', inputs, { ...common, dilations: 1 });
      await expectSame('FusedConv2D', inputs, { ...common, dilations: 1, activation: 'linear' });
    });
  }

  it('Conv2D with dilations and a FusedConv2D with bias and relu (handed back to wasm\'s own) match cpu', async () => {
    const inputs = { x: input([2, 12, 12, 3], 7), filter: input([3, 3, 3, 8], 8) };
    await expectSame('Conv2D', inputs, { strides: 1, pad: 'same', dataFormat: 'NHWC', dilations: [2, 3] });
    await expectSame('FusedConv2D', { ...inputs, bias: input([8], 9) }, { strides: 1, pad: 'same', dataFormat: 'NHWC', dilations: 1, activation: 'relu' });
  });

  // [x shape, filter shape (multiplier last), strides, pad, dilations]. Dilations stay 1: tfjs's depthwise
  // gradient refuses others, and the cpu kernels' loops ignore them, so cpu is no reference there.
  const depthwiseCases: [number[], number[], number, string, number][] = [
    [[1, 8, 8, 16], [3, 3, 16, 1], 1, 'same', 1],
    [[5, 9, 7, 3], [3, 3, 3, 2], 2, 'same', 1],
    [[2, 10, 10, 1], [3, 3, 1, 3], 1, 'valid', 1],
    [[1, 7, 8, 16], [2, 2, 16, 2], 2, 'valid', 1],
  ];
  for (const [xShape, filterShape, strides, pad, dilations] of depthwiseCases) {
    const label = `x ${xShape} filter ${filterShape} strides ${strides} ${pad} dilations ${dilations}`;
    const info = tf.backend_util.computeConv2DInfo(xShape as [number, number, number, number], filterShape as [number, number, number, number],
      strides, dilations, pad as 'same', undefined, true);
    const common = { strides, pad, dilations, dimRoundingMode: undefined };
    it(`DepthwiseConv2dNativeBackpropFilter matches cpu: ${label}`, async () => {
      await expectSame('DepthwiseConv2dNativeBackpropFilter', { x: input(xShape, 11), dy: input(info.outShape, 12) }, { ...common, filterShape });
    });
    it(`DepthwiseConv2dNativeBackpropInput matches cpu: ${label}`, async () => {
      await expectSame('DepthwiseConv2dNativeBackpropInput', { dy: input(info.outShape, 13), filter: input(filterShape, 14) }, { ...common, inputShape: xShape });
    });
  }

  it('UnsortedSegmentSum matches cpu (float32 and int32 rows, repeated and out-of-range ids)', async () => {
    const ids = { shape: [6], values: [2, 0, 2, -1, 4, 7], dtype: 'int32' as const };
    await expectSame('UnsortedSegmentSum', { x: input([6, 4], 21), segmentIds: ids }, { numSegments: 5 });
    await expectSame('UnsortedSegmentSum', { x: { shape: [6, 2], values: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12], dtype: 'int32' }, segmentIds: ids }, { numSegments: 5 });
  });

  it('UnsortedSegmentSum with rank-2 ids sums rows as TensorFlow defines it (cpu cannot run this case)', async () => {
    const x = input([2, 3, 5], 22);
    const ids = [1, 1, 0, 3, 1, 0];
    const result = await runOn('wasm', 'UnsortedSegmentSum', { x, segmentIds: { shape: [2, 3], values: ids, dtype: 'int32' } }, { numSegments: 4 });
    const expected = new Array(4 * 5).fill(0);
    ids.forEach((id, row) => {
      for (let j = 0; j < 5; ++j) expected[id * 5 + j] += x.values[row * 5 + j];
    });
    assert.deepEqual(result.shape, [4, 5]);
    assert.ok(relativeError(result.data, expected) < 1e-6);
    assert.ok(result.data.slice(10, 15).every((v) => v === 0), 'segment 2 has no rows');
  });

  it('Tile matches cpu (float32, int32, bool)', async () => {
    await expectSame('Tile', { x: input([1, 1, 1, 5], 31) }, { reps: [2, 3, 4, 1] });
    await expectSame('Tile', { x: input([2, 3], 32) }, { reps: [3, 2] });
    await expectSame('Tile', { x: { shape: [2, 2], values: [1, -2, 3, 4], dtype: 'int32' } }, { reps: [1, 3] });
    await expectSame('Tile', { x: { shape: [3], values: [1, 0, 1], dtype: 'bool' } }, { reps: [2] });
  });

  it('Sum and Mean match cpu over leading axes (joule) and others (wasm\'s own)', async () => {
    for (const kernel of ['Sum', 'Mean']) {
      await expectSame(kernel, { x: input([5, 4, 3, 6], 41) }, { axis: [0, 1, 2], keepDims: false });
      await expectSame(kernel, { x: input([5, 4, 3, 6], 42) }, { axis: [0, 1, 2], keepDims: true });
      await expectSame(kernel, { x: input([5, 4, 3, 6], 43) }, { axis: [1], keepDims: false });
    }
  });

  it('Add, Sub and Multiply match cpu with a per-channel operand on either side, and plain', async () => {
    for (const kernel of ['Add', 'Sub', 'Multiply']) {
      await expectSame(kernel, { a: input([2, 3, 4, 5], 51), b: input([5], 52) }, {});
      await expectSame(kernel, { a: input([1, 1, 1, 5], 53), b: input([2, 3, 4, 5], 54) }, {});
      await expectSame(kernel, { a: input([2, 3, 4, 5], 55), b: input([2, 3, 4, 5], 56) }, {});
      await expectSame(kernel, { a: input([2, 3, 4, 5], 57), b: input([4, 1], 58) }, {});
    }
  });

  it('FusedBatchNorm matches cpu with and without scale and offset', async () => {
    const base = { x: input([3, 4, 5, 6], 61), mean: input([6], 62), variance: { shape: [6], values: [0.5, 1, 2, 0.1, 3, 1.5] } };
    await expectSame('FusedBatchNorm', { ...base, scale: input([6], 63), offset: input([6], 64) }, { varianceEpsilon: 1e-3 });
    await expectSame('FusedBatchNorm', base, { varianceEpsilon: 1e-5 });
  });

  /** The gradients of f with respect to every argument, on `backend`, as plain arrays. */
  async function gradientsOn(backend: 'cpu' | 'wasm', f: (...args: tf.Tensor[]) => tf.Tensor, args: Inputs[string][]): Promise<number[][]> {
    await tf.setBackend(backend);
    const tensors = args.map((a) => tf.tensor(a.values, a.shape, a.dtype ?? 'float32'));
    const grads = tf.grads(f)(tensors);
    const out = await Promise.all(grads.map(async (g) => Array.from(await g.data())));
    tf.dispose([...tensors, ...grads]);
    return out;
  }

  it('a small convnet (conv, depthwise conv, batch norm, relu, 1×1 conv, dense) has the same gradients on wasm as on cpu', async () => {
    const convnet = (x: tf.Tensor, w1: tf.Tensor, w2: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor, w3: tf.Tensor, dense: tf.Tensor) => {
      let y: tf.Tensor = tf.conv2d(x as tf.Tensor4D, w1 as tf.Tensor4D, 2, 'same');
      y = tf.depthwiseConv2d(y as tf.Tensor4D, w2 as tf.Tensor4D, 1, 'same');
      const { mean, variance } = tf.moments(y, [0, 1, 2]);
      y = tf.relu(tf.batchNorm(y, mean, variance, beta as tf.Tensor1D, gamma as tf.Tensor1D, 1e-3));
      y = tf.conv2d(y as tf.Tensor4D, w3 as tf.Tensor4D, 1, 'valid') as tf.Tensor;
      const pooled = tf.mean(y, [1, 2]);
      return tf.sum(tf.square(tf.matMul(pooled as tf.Tensor2D, dense as tf.Tensor2D)));
    };
    const args = [input([3, 10, 10, 3], 71), input([3, 3, 3, 8], 72), input([3, 3, 8, 1], 73), input([8], 74), input([8], 75), input([1, 1, 8, 16], 76), input([16, 4], 77)];
    const wasm = await gradientsOn('wasm', convnet, args);
    const cpu = await gradientsOn('cpu', convnet, args);
    wasm.forEach((g, i) => {
      const error = relativeError(g, cpu[i]);
      assert.ok(error < 1e-4, `gradient ${i}: relative error ${error}`);
    });
  });

  it('an embedding lookup has the same gradient on wasm as on cpu (UnsortedSegmentSum)', async () => {
    const ids = tf.tensor1d([3, 1, 3, 0, 9, 3, 1], 'int32');
    const weights = input([7, 6], 81);
    const embedding = (table: tf.Tensor, w: tf.Tensor) => tf.sum(tf.mul(tf.gather(table, ids), w));
    const wasm = await gradientsOn('wasm', embedding, [input([10, 6], 82), weights]);
    const cpu = await gradientsOn('cpu', embedding, [input([10, 6], 82), weights]);
    ids.dispose();
    assert.ok(relativeError(wasm[0], cpu[0]) < 1e-5, 'table gradient');
    assert.ok(cpu[0].slice(2 * 6, 3 * 6).every((v) => v === 0), 'a row never looked up gets no gradient');
  });

  it('the Sum and Mean gradients joule registers broadcast dy exactly (dy / reduced count for Mean)', async () => {
    await tf.setBackend('wasm');
    const x = tf.tensor(input([2, 3, 4], 91).values, [2, 3, 4]);
    const weights = input([3, 1], 92).values;
    const w = tf.tensor(weights, [3, 1]);
    const [sumGrad, meanGrad] = await Promise.all([
      tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.sum(t, [0, 2], true), w)))(x).data(),
      tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.mean(t, [0, 2], true), w)))(x).data(),
    ]);
    tf.dispose([x, w]);
    for (let i = 0; i < 24; ++i) {
      const row = Math.floor(i / 4) % 3;
      assert.equal(sumGrad[i], Math.fround(weights[row]), `sum gradient ${i}`);
      assert.equal(meanGrad[i], Math.fround(Math.fround(weights[row]) / 8), `mean gradient ${i}`);
    }
  });

  it('the native kernels reject bad arguments with JOULE_BAD_ARGUMENT', () => {
    const shape = Int32Array.from([1, 4, 4, 2, 4, 4, 3, 3, 3, 1, 1, 1, 1, 1, 1]);
    const x = new Float32Array(32);
    const dy = new Float32Array(48);
    const dFilter = new Float32Array(54);
    const rejects = (call: () => void, message: RegExp) =>
      assert.throws(call, (error: Error & { code?: string }) => error.code === 'JOULE_BAD_ARGUMENT' && message.test(error.message));
    native().conv2dBackpropFilter(shape, x, dy, dFilter);
    rejects(() => native().conv2dBackpropFilter(shape.subarray(1), x, dy, dFilter), /15 fields/);
    rejects(() => native().conv2dBackpropFilter(shape, x, dy, new Float32Array(53)), /dFilter holds 53 elements; the shape needs 54/);
    rejects(() => native().conv2dBackpropFilter(shape, x, new Float64Array(48) as unknown as Float32Array, dFilter), /dy must be a Float32Array/);
    rejects(() => native().conv2dBackpropFilter(Int32Array.from([0, ...shape.subarray(1)]), x, dy, dFilter), /at least 1/);
    const shared = new Float32Array(200);
    rejects(() => native().conv2dBackpropFilter(shape, shared.subarray(0, 32), shared.subarray(40, 88), shared.subarray(80, 134)), /overlap/);
    rejects(() => native().depthwiseConv2dBackpropInput(shape, dy, new Float32Array(27), x), /multiple of the input channels/);
    rejects(() => native().unsortedSegmentSum(new Float32Array(6), Int32Array.from([0, 1, 2, 3]), 4, new Float32Array(8)), /whole number of rows/);
    rejects(() => native().tile(new Float32Array(4), Int32Array.from([2, 2]), Int32Array.from([2]), new Float32Array(16)), /one entry per axis/);
  });
});

describe('train: selectTfBackend', function () {
  this.timeout(120_000);
  let empty: string;
  let previousBackend: string;
  before(() => {
    previousBackend = tf.getBackend();
    // A folder with no node_modules: the optional tfjs-node packages cannot be found from it, whatever is installed here.
    empty = fs.mkdtempSync(path.join(os.tmpdir(), 'joule-tf-'));
  });
  after(async () => {
    fs.rmSync(empty, { recursive: true, force: true });
    if (previousBackend) await tf.setBackend(previousBackend);
  });

  for (const name of ['tfjs-node', 'tfjs-node-gpu'] as const) {
    it(`a forced ${name} that is not installed fails with JOULE_TF_BACKEND_UNAVAILABLE and says how to install it`, async () => {
      await assert.rejects(selectTfBackend(name, { moduleSearchPaths: [empty] }), (error: unknown) => {
        assert.ok(isJouleError(error, 'JOULE_TF_BACKEND_UNAVAILABLE'), String(error));
        assert.match(error.message, new RegExp(`npm install @tensorflow/${name}@`));
        assert.equal(error.details.backend, name);
        return true;
      });
    });
  }

  it('auto without tfjs-node takes wasm, says why, and lists the kernels it registered', async () => {
    const runtime = await selectTfBackend('auto', { moduleSearchPaths: [empty] });
    assert.equal(runtime.backend, 'wasm');
    assert.equal(tf.getBackend(), 'wasm');
    assert.match(runtime.reason, /@tensorflow\/tfjs-node-gpu is not installed; @tensorflow\/tfjs-node is not installed; wasm/);
    assert.ok(runtime.registered.includes('Conv2DBackpropFilter'));
  });

  it('a forced cpu backend is used; an unknown name is a JOULE_BAD_ARGUMENT', async () => {
    const runtime = await selectTfBackend('cpu');
    assert.deepEqual([runtime.backend, tf.getBackend(), runtime.registered], ['cpu', 'cpu', []]);
    await assert.rejects(selectTfBackend('tpu' as 'cpu'), (error: unknown) => isJouleError(error, 'JOULE_BAD_ARGUMENT'));
  });
});
