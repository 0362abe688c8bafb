#!/usr/bin/env node
// One rank's resnet-mini training step on tfjs (wasm with joule's kernels by default) against PyTorch on one
// rank (bench/torch/ddp_resnet_mini.py, one thread), alternated for --rounds rounds in the same invocation
// (the machine's load moves; the median ratio of the rounds is the figure); prints samples/s of both, the
// ratios and the load average. Synthetic data, LBS 32, SGD with momentum on both sides.
// Needs `npx tsc` (dist/) and Debian's python3-torch. Usage: node bench/train/step.js [--tf-backend wasm]
//   [--rounds 3] [--steps 30] [--warmup 5] [--lbs 32] [--python /usr/bin/python3] [--no-torch] [--json]
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
const rounds = Number(flag('--rounds', '3'));
const python = flag('--python', fs.existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3');
const json = args.includes('--json');
const load = () => os.loadavg().map((l) => Number(l.toFixed(2)));

/** A timer of joule's step: resnet-mini built once, each call times `steps` steps after `warmup`. */
async function jouleStepper() {
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
  return () => {
    for (let i = 0; i < warmup; ++i) step();
    const start = process.hrtime.bigint();
    for (let i = 0; i < steps; ++i) step();
    const durationS = Number(process.hrtime.bigint() - start) / 1e9;
    return {
      framework: 'joule', backend: runtime.backend, reason: runtime.reason, parameters: spec.parameters, lbs, steps, warmup,
      durationS, samplesPerS: (steps * lbs) / durationS, stepS: durationS / steps, finalLoss: lastLoss, loadAverage: load(),
    };
  };
}

async function torchStep() {
  const script = path.join(root, 'bench/torch/ddp_resnet_mini.py');
  const result = await run(python, [script, '--ranks', '1', '--steps', String(steps), '--warmup', String(warmup), '--lbs', String(lbs)]);
  if (result.code !== 0) throw new Error(`${python} ${script} failed (${result.code}): ${result.stderr.trim()}`);
  return JSON.parse(result.stdout.trim().split('\n').pop());
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

async function main() {
  const jouleStep = await jouleStepper();
  const results = [];
  for (let round = 0; round < rounds; ++round) {
    const joule = jouleStep();
    const torch = args.includes('--no-torch') ? null : await torchStep();
    results.push({ joule, torch, jouleOverTorch: torch ? joule.samplesPerS / torch.samplesPerS : null });
    if (!json) {
      const torchText = torch ? `, PyTorch ${torch.torch} (1 thread) ${torch.samplesPerS.toFixed(1)} samples/s, joule/PyTorch ${(joule.samplesPerS / torch.samplesPerS).toFixed(2)}` : '';
      console.log(`round ${round + 1}: joule ${joule.backend} ${joule.samplesPerS.toFixed(1)} samples/s${torchText}; load ${joule.loadAverage.join(' ')}`);
    }
  }
  const summary = {
    date: new Date().toISOString(), lbs, steps, warmup, rounds: results,
    medianJouleSamplesPerS: median(results.map((r) => r.joule.samplesPerS)),
    medianTorchSamplesPerS: results[0].torch ? median(results.map((r) => r.torch.samplesPerS)) : null,
    medianJouleOverTorch: results[0].torch ? median(results.map((r) => r.jouleOverTorch)) : null,
  };
  if (json) {
    console.log(JSON.stringify(summary));
    return;
  }
  console.log(`# resnet-mini, one rank, LBS ${lbs}, ${steps} steps after ${warmup} per round, ${summary.date}`);
  console.log(`median: joule ${summary.medianJouleSamplesPerS.toFixed(1)} samples/s` +
    (summary.medianTorchSamplesPerS ? `, PyTorch ${summary.medianTorchSamplesPerS.toFixed(1)} samples/s, joule/PyTorch ${summary.medianJouleOverTorch.toFixed(2)}` : ''));
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
