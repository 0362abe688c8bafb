#!/usr/bin/env node
// Time per call of the kernels joule registers for tfjs-wasm, against the cpu backend's (and wasm's own
// where wasm has one), at resnet-mini's shapes (LBS 32: its convolutions and batch norm's forward and
// gradient operations) plus a depthwise layer and bert-mini's embedding gradient; checks every result against
// the cpu backend's and exits 3 on a mismatch. Needs `npx tsc` (dist/).
// Usage: npm run bench:train-kernels -- [--lbs 32] [--seconds 1] [--json]
const os = require('node:os');
const path = require('node:path');
const { root, args, flag } = require('../cli');

const tf = require('@tensorflow/tfjs');
const { selectTfBackend } = require(path.join(root, 'dist/src/train/backend/index.js'));

const lbs = Number(flag('--lbs', '32'));
const seconds = Number(flag('--seconds', '1'));
const json = args.includes('--json');
const load = () => os.loadavg().map((l) => l.toFixed(2)).join(' ');

// [name, x shape, filter shape, stride]; 'same' padding as src/train/models/resnet.ts builds them.
const convLayers = [
  ['stem 1→16', [lbs, 28, 28, 1], [3, 3, 1, 16], 1],
  ['block1 16→16', [lbs, 28, 28, 16], [3, 3, 16, 16], 1],
  ['block2 16→32 s2', [lbs, 28, 28, 16], [3, 3, 16, 32], 2],
  ['block2 32→32', [lbs, 14, 14, 32], [3, 3, 32, 32], 1],
  ['block2 1×1 s2', [lbs, 28, 28, 16], [1, 1, 16, 32], 2],
  ['block3 32→64 s2', [lbs, 14, 14, 32], [3, 3, 32, 64], 2],
  ['block3 64→64', [lbs, 7, 7, 64], [3, 3, 64, 64], 1],
  ['block3 1×1 s2', [lbs, 14, 14, 32], [1, 1, 32, 64], 2],
];

function random(shape, seed) {
  return tf.randomUniform(shape, -1, 1, 'float32', seed);
}

/** Seconds per call of fn (which returns a tensor or TensorInfo to free), after one warm-up call, over at
 *  least `seconds` and one call (the cpu backend takes seconds per call when the machine is busy). */
function timePerCall(fn, free) {
  free(fn());
  let calls = 0;
  const start = process.hrtime.bigint();
  let elapsedS = 0;
  while (elapsedS < seconds || calls < 1) {
    free(fn());
    calls += 1;
    elapsedS = Number(process.hrtime.bigint() - start) / 1e9;
  }
  return elapsedS / calls;
}

/** The cases: per kernel, the inputs (as plain arrays, so each backend makes its own tensors) and attrs. */
function cases() {
  const list = [];
  convLayers.forEach(([name, xShape, filterShape, stride], i) => {
    const info = tf.backend_util.computeConv2DInfo(xShape, filterShape, stride, 1, 'same');
    const x = random(xShape, 10 + i).arraySync();
    const dy = random(info.outShape, 20 + i).arraySync();
    const filter = random(filterShape, 30 + i).arraySync();
    const common = { strides: stride, pad: 'same', dataFormat: 'NHWC', dimRoundingMode: undefined };
    list.push({ kernel: 'Conv2DBackpropFilter', layer: name, inputs: { x, dy }, attrs: { ...common, filterShape } });
    if (i > 0) {  // the stem's input needs no gradient, so training never computes it
      list.push({ kernel: 'Conv2DBackpropInput', layer: name, inputs: { dy, filter }, attrs: { ...common, inputShape: xShape } });
    }
    list.push({ kernel: 'Conv2D', layer: name, inputs: { x, filter }, attrs: { ...common, dilations: 1 } });
  });
  // Batch normalization of the first block's activations, forward and the operations of its gradient.
  const act = [lbs, 28, 28, 16];
  const bn = 'batch norm 28×28×16';
  const actValues = random(act, 60).arraySync();
  const channel = () => random([16], 61).arraySync();
  const variance = () => tf.randomUniform([16], 0.5, 2, 'float32', 62).arraySync();
  list.push({ kernel: 'FusedBatchNorm', layer: bn, inputs: { x: actValues, mean: channel(), variance: variance(), scale: channel(), offset: channel() }, attrs: { varianceEpsilon: 1e-5 } });
  list.push({ kernel: 'Tile', layer: bn, inputs: { x: random([1, 1, 1, 16], 63).arraySync() }, attrs: { reps: [lbs, 28, 28, 1] } });
  list.push({ kernel: 'Sum', layer: bn, inputs: { x: actValues }, attrs: { axis: [0, 1, 2], keepDims: false } });
  list.push({ kernel: 'Mean', layer: bn, inputs: { x: actValues }, attrs: { axis: [0, 1, 2], keepDims: false } });
  list.push({ kernel: 'Multiply', layer: bn, inputs: { a: actValues, b: channel() }, attrs: {} });
  list.push({ kernel: 'Sub', layer: bn, inputs: { a: actValues, b: channel() }, attrs: {} });
  const dwShape = [lbs, 14, 14, 32];
  const dwFilter = [3, 3, 32, 1];
  const dwInfo = tf.backend_util.computeConv2DInfo(dwShape, dwFilter, 1, 1, 'same', undefined, true);
  const depthwise = { strides: 1, dilations: 1, pad: 'same', dimRoundingMode: undefined };
  const dwDy = random(dwInfo.outShape, 41).arraySync();
  list.push({ kernel: 'DepthwiseConv2dNativeBackpropFilter', layer: 'depthwise 3×3 32ch', inputs: { x: random(dwShape, 40).arraySync(), dy: dwDy }, attrs: { ...depthwise, filterShape: dwFilter } });
  list.push({ kernel: 'DepthwiseConv2dNativeBackpropInput', layer: 'depthwise 3×3 32ch', inputs: { dy: dwDy, filter: random(dwFilter, 42).arraySync() }, attrs: { ...depthwise, inputShape: dwShape } });
  // bert-mini's token embedding gradient: LBS × 32 tokens of width 64 into a 4096-word vocabulary.
  const tokens = lbs * 32;
  list.push({
    kernel: 'UnsortedSegmentSum', layer: 'bert-mini embedding',
    inputs: { x: random([tokens, 64], 50).arraySync(), segmentIds: Array.from({ length: tokens }, (_, i) => (i * 7919) % 4096) },
    attrs: { numSegments: 4096 },
  });
  return list;
}

function tensors(c) {
  return Object.fromEntries(Object.entries(c.inputs).map(([k, v]) => [k, tf.tensor(v, undefined, k === 'segmentIds' ? 'int32' : 'float32')]));
}

function maxRelativeError(a, b) {
  let scale = 0;
  let worst = 0;
  for (let i = 0; i < a.length; ++i) scale = Math.max(scale, Math.abs(b[i]));
  for (let i = 0; i < a.length; ++i) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  return worst / Math.max(scale, 1e-30);
}

async function main() {
  const list = cases();
  // The cpu backend's figures and reference results.
  await selectTfBackend('cpu');
  for (const c of list) {
    process.stderr.write(`cpu backend: ${c.kernel}, ${c.layer}\n`);
    const inputs = tensors(c);
    const run = () => tf.engine().runKernel(c.kernel, inputs, c.attrs);
    c.reference = run().dataSync();
    c.cpuS = timePerCall(run, (t) => t.dispose());
    tf.dispose(Object.values(inputs));
  }
  // wasm's own kernels, kept before joule's replace them, then joule's.
  await import('@tensorflow/tfjs-backend-wasm');
  await tf.setBackend('wasm');
  const own = Object.fromEntries(list.map((c) => [c.kernel, tf.getKernel(c.kernel, 'wasm')]).filter(([, k]) => k));
  const runtime = await selectTfBackend('wasm');
  const backend = tf.backend();
  const free = (info) => backend.disposeData(info.dataId);
  let wrong = 0;
  for (const c of list) {
    process.stderr.write(`wasm: ${c.kernel}, ${c.layer}\n`);
    const inputs = tensors(c);
    if (own[c.kernel]) {
      c.wasmOwnS = timePerCall(() => own[c.kernel].kernelFunc({ inputs, backend, attrs: c.attrs }), free);
    }
    const run = () => tf.engine().runKernel(c.kernel, inputs, c.attrs);
    c.error = maxRelativeError(run().dataSync(), c.reference);
    c.jouleS = timePerCall(run, (t) => t.dispose());
    if (!(c.error < 1e-4)) wrong += 1;
    tf.dispose(Object.values(inputs));
  }
  const rows = list.map((c) => ({
    kernel: c.kernel, layer: c.layer, jouleWasmMs: c.jouleS * 1e3, cpuMs: c.cpuS * 1e3,
    cpuOverJoule: c.cpuS / c.jouleS, wasmOwnMs: c.wasmOwnS === undefined ? null : c.wasmOwnS * 1e3,
    wasmOwnOverJoule: c.wasmOwnS === undefined ? null : c.wasmOwnS / c.jouleS, maxRelativeError: c.error,
  }));
  const summary = { date: new Date().toISOString(), loadAverage: load(), lbs, registered: runtime.registered, wrong, rows };
  if (json) {
    console.log(JSON.stringify(summary));
  } else {
    console.log(`# wasm training kernels, LBS ${lbs}, ${summary.date}, load average ${summary.loadAverage}`);
    console.log('# kernel                              layer                 joule ms    cpu ms  cpu/joule  wasm-own ms  own/joule  max rel err');
    for (const r of rows) {
      const own = r.wasmOwnMs === null ? '           -          -' : `${r.wasmOwnMs.toFixed(3).padStart(12)} ${r.wasmOwnOverJoule.toFixed(2).padStart(10)}`;
      console.log(`${r.kernel.padEnd(37)} ${r.layer.padEnd(20)} ${r.jouleWasmMs.toFixed(3).padStart(9)} ${r.cpuMs.toFixed(3).padStart(9)} ${r.cpuOverJoule.toFixed(1).padStart(10)} ${own} ${r.maxRelativeError.toExponential(1).padStart(12)}`);
    }
    console.log(`# results that differ from the cpu backend's (relative error ≥ 1e-4): ${wrong}`);
  }
  process.exitCode = wrong > 0 ? 3 : 0;
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
