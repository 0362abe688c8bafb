// npm run bench:train-pipeline: resnet-mini at one global batch three ways in one run — 1 rank (accumulation
// over the micro-batches: what runs without parallelism), dp on 2 ranks, pp with 2 stages and M micro-batches
// (GPipe) — samples/s, J per sample and communicated bytes side by side; and the pipeline's efficiency: its
// step time against the ideal one implied by the measured stage balance and bubble, ideal = max stage
// compute × (M+K−1)/M, with the measured idle share printed beside the formula (K−1)/(M+K−1).
// Exits 1 when the pipeline reaches less than 0.8 of that ideal.
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { root, flag, run } = require('../cli');

const micro = Number(flag('--micro-batches', '8'));
const lbs = Number(flag('--lbs', '16'));
const steps = flag('--max-steps', '8');
const gbs = lbs * micro;
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'joule-bench-pipeline-'));
const common = ['--model', 'resnet-mini', '--dataset', 'synthetic-images', '--train-size', String(gbs * Number(steps)), '--test-size', '32', '--max-steps', steps, '--json'];

async function train(name, args) {
  const dir = path.join(scratch, name);
  const r = await run(process.execPath, [path.join(root, 'bin', 'joule.js'), 'train', ...common, '--run-dir', dir, ...args]);
  if (r.code !== 0) throw new Error(`joule train (${name}) failed (exit ${r.code}):\n${r.stderr.slice(-2000)}`);
  return JSON.parse(r.stdout);
}

function row(name, s) {
  return { name, samplesPerS: s.steadySamplesPerS ?? s.samplesPerS, jPerSample: s.energy.jPerSample, energySource: s.energy.source, communicatedBytes: s.communicatedBytes };
}

async function main() {
  const loadBefore = os.loadavg()[0];
  const single = await train('1-rank', ['-n', '1', '--lbs', String(lbs), '--gbs', String(gbs)]);
  const dp = await train('dp-2', ['-n', '2', '--lbs', String(gbs / 2)]);
  const pp = await train('pp-2', ['-n', '2', '--strategy', 'pp', '--stages', '2', '--micro-batches', String(micro), '--lbs', String(lbs)]);
  const p = pp.pipeline;
  const K = p.stages;
  const computeS = p.measured.stages.map((s) => s.computeS);
  const idealStepS = (Math.max(...computeS) * (micro + K - 1)) / micro;
  const efficiency = idealStepS / p.measured.stepS;
  const result = {
    date: new Date().toISOString(),
    loadAverage: { before: Number(loadBefore.toFixed(2)), after: Number(os.loadavg()[0].toFixed(2)) },
    cores: os.availableParallelism(),
    gbs,
    rows: [row('1 rank', single), row('dp 2 ranks', dp), row(`pp 2 stages, M=${micro}`, pp)],
    pipeline: {
      split: p.split.stages.map((s) => `${s.layers[0]}–${s.layers[1] - 1}`),
      stageComputeS: computeS,
      measuredIdle: p.measured.stages.map((s) => s.bubble),
      bubbleFormula: p.bubbleTheory,
      stepS: p.measured.stepS,
      idealStepS,
      idealSpeedup: computeS.reduce((a, b) => a + b, 0) / idealStepS,
      measuredSpeedup: computeS.reduce((a, b) => a + b, 0) / p.measured.stepS,
      efficiency,
    },
  };
  if (process.argv.includes('--json')) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  else {
    process.stdout.write(`resnet-mini, GBS ${gbs}, ${steps} steps; load average ${result.loadAverage.before} → ${result.loadAverage.after} on ${result.cores} cores\n`);
    process.stdout.write(`run                     samples/s   J/sample (source)      communicated\n`);
    for (const r of result.rows) process.stdout.write(`${r.name.padEnd(22)}  ${r.samplesPerS.toFixed(1).padStart(9)}   ${`${r.jPerSample?.toPrecision(3)} (${r.energySource})`.padEnd(21)}  ${(r.communicatedBytes / 2 ** 20).toFixed(2)} MiB\n`);
    const q = result.pipeline;
    process.stdout.write(`pp stages ${q.split.join(' | ')}: compute ${q.stageComputeS.map((c) => c.toFixed(3)).join(' / ')} s per step; measured idle ${q.measuredIdle.map((b) => `${(100 * b).toFixed(0)} %`).join(' / ')} vs formula (K−1)/(M+K−1) = ${(100 * q.bubbleFormula).toFixed(0)} %\n`);
    process.stdout.write(`pp step ${q.stepS.toFixed(3)} s vs ideal ${q.idealStepS.toFixed(3)} s: speed-up ${q.measuredSpeedup.toFixed(2)}× of an ideal ${q.idealSpeedup.toFixed(2)}× → efficiency ${q.efficiency.toFixed(2)}\n`);
    process.stdout.write(`pp vs 1 rank samples/s: ${(result.rows[2].samplesPerS / result.rows[0].samplesPerS).toFixed(2)}×; dp vs 1 rank: ${(result.rows[1].samplesPerS / result.rows[0].samplesPerS).toFixed(2)}×\n`);
  }
  fs.rmSync(scratch, { recursive: true, force: true });
  if (efficiency < 0.8) process.exit(1);
}

main().catch((error) => {
  process.stderr.write(`bench:train-pipeline: ${error.message}\n`);
  process.exit(2);
});
