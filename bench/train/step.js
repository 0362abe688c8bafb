#!/usr/bin/env node
// One rank's resnet-mini training step on tfjs (wasm with joule's kernels by default) against PyTorch on one
// rank (bench/torch/ddp_resnet_mini.py, one thread), run one after the other in the same invocation; prints
// samples/s of both, the ratio and the load average. Synthetic data, LBS 32, SGD with momentum both sides.
// Needs `npx tsc` (dist/) and Debian's python3-torch. Usage: node bench/train/step.js [--tf-backend wasm]
//   [--steps 30] [--warmup 5] [--lbs 32] [--python /usr/bin/python3] [--no-torch] [--json]
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { root, args, flag, run } = require('../cli');

const tf = require('@tensorflow/tfjs');
const { selectTfBackend } = require(path.join(root, 'dist/src/train/backend/index.js'));
const { buildModel } = require(path.join(root, 'dist/src/train/models/index.js'));

const backendName = flag('--tf-backend', 'wasm');
const steps = Number(flag('--steps', '30'));
const warmup = Number(flag('--warmup', '5'));
const lbs = Number(flag('--lbs', '32'));
const python = flag('--python', fs.existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3');
const json = args.includes('--json');
const load = () => os.loadavg().map((l) => Number(l.toFixed(2)));

async function jouleStep() {
  const runtime = await selectTfBackend(backendName);
  const spec = buildModel('resnet-mini', { seed: 1 });
  const optimizer = tf.train.momentum(0.05, 0.9);
  const x = tf.randomNormal([lbs, 28, 28, 1], 0, 1, 'float32', 2);
  const labels = tf.oneHot(tf.randomUniform([lbs], 0, 10, 'int32', 3), 10);
  let lastLoss = NaN;
  const step = () => {
    const loss = optimizer.minimize(() => tf.losses.softmaxCrossEntropy(labels, spec.model.apply(x, { training: true })), true);
    lastLoss = loss.dataSync()[0];  // waits for the step, as .item() does on the PyTorch side
    loss.dispose();
  };
  for (let i = 0; i < warmup; ++i) step();
  const start = process.hrtime.bigint();
  for (let i = 0; i < steps; ++i) step();
  const durationS = Number(process.hrtime.bigint() - start) / 1e9;
  return {
    framework: 'joule', backend: runtime.backend, reason: runtime.reason, parameters: spec.parameters, lbs, steps, warmup,
    durationS, samplesPerS: (steps * lbs) / durationS, stepS: durationS / steps, finalLoss: lastLoss, loadAverage: load(),
  };
}

async function torchStep() {
  const script = path.join(root, 'bench/torch/ddp_resnet_mini.py');
  const result = await run(python, [script, '--ranks', '1', '--steps', String(steps), '--warmup', String(warmup), '--lbs', String(lbs)]);
  if (result.code !== 0) throw new Error(`${python} ${script} failed (${result.code}): ${result.stderr.trim()}`);
  return JSON.parse(result.stdout.trim().split('\n').pop());
}

async function main() {
  const joule = await jouleStep();
  const torch = args.includes('--no-torch') ? null : await torchStep();
  const summary = { date: new Date().toISOString(), joule, torch, jouleOverTorch: torch ? joule.samplesPerS / torch.samplesPerS : null };
  if (json) {
    console.log(JSON.stringify(summary));
    return;
  }
  console.log(`# resnet-mini, one rank, LBS ${lbs}, ${steps} steps after ${warmup}, ${summary.date}`);
  console.log(`joule ${joule.backend}: ${joule.samplesPerS.toFixed(1)} samples/s (${(joule.stepS * 1e3).toFixed(1)} ms/step), load ${joule.loadAverage.join(' ')}`);
  if (torch) {
    console.log(`PyTorch ${torch.torch} (1 thread): ${torch.samplesPerS.toFixed(1)} samples/s (${(torch.stepS * 1e3).toFixed(1)} ms/step), load ${torch.loadAverage.map((l) => l.toFixed(2)).join(' ')}`);
    console.log(`joule / PyTorch: ${summary.jouleOverTorch.toFixed(2)}`);
  }
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
