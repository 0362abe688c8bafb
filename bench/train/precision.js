// npm run bench:train-precision: the same training (resnet-mini on MNIST, 2 ranks, same seed and epochs)
// with gradients on the wire in fp32, bf16 and adaptive: held-out accuracy, communicated bytes, energy per
// sample (with its source) and throughput side by side. Exits 1 when bf16 misses fp32's accuracy by more
// than 0.5 points or does not halve the bytes.
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { root, flag, run } = require('../cli');

const epochs = flag('--epochs', '1');
const ranks = flag('-n', '2');
const extra = flag('--train-args', '').split(' ').filter(Boolean);
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'joule-bench-precision-'));

async function train(precision) {
  const dir = path.join(scratch, precision);
  // adaptive acts on modelled energy only when allowed; where nothing measures (no GPU, no RAPL) that is all there is.
  const allow = precision === 'adaptive' ? ['--allow-model-energy'] : [];
  const r = await run(process.execPath, [path.join(root, 'bin', 'joule.js'), 'train', '-n', ranks, '--epochs', epochs, '--precision', precision, '--run-dir', dir, '--json', ...allow, ...extra]);
  if (r.code !== 0) throw new Error(`joule train --precision ${precision} failed (exit ${r.code}):\n${r.stderr.slice(-2000)}`);
  return JSON.parse(r.stdout);
}

async function main() {
  const loadBefore = os.loadavg()[0].toFixed(2);
  const rows = [];
  for (const precision of ['fp32', 'bf16', 'adaptive']) {
    const s = await train(precision);
    const energyJ = s.energy.energyJ ?? s.energy.modelEnergyJ;
    rows.push({
      precision,
      heldOutAccuracy: s.heldOut.accuracy,
      communicatedBytes: s.communicatedBytes,
      jPerSample: s.energy.jPerSample,
      energyJ,
      energySource: s.energy.source,
      samplesPerS: s.steadySamplesPerS,
      wireSteps: s.precision.wire,
      decisions: s.precision.decisions.length,
    });
    process.stderr.write(`${precision}: held-out ${(100 * s.heldOut.accuracy).toFixed(2)} %, ${(s.communicatedBytes / 2 ** 20).toFixed(1)} MiB, ${s.energy.jPerSample?.toPrecision(3)} J/sample (${s.energy.source})\n`);
  }
  const [fp32, bf16] = rows;
  const verdict = {
    bf16AccuracyGapPoints: 100 * (fp32.heldOutAccuracy - bf16.heldOutAccuracy),
    bf16BytesRatio: bf16.communicatedBytes / fp32.communicatedBytes,
  };
  const result = { date: new Date().toISOString(), loadAverage: { before: Number(loadBefore), after: Number(os.loadavg()[0].toFixed(2)) }, epochs: Number(epochs), ranks: Number(ranks), rows, verdict };
  if (process.argv.includes('--json')) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  else {
    process.stdout.write(`precision  held-out acc  communicated  J/sample (source)        samples/s\n`);
    for (const r of rows) process.stdout.write(`${r.precision.padEnd(9)}  ${(100 * r.heldOutAccuracy).toFixed(2).padStart(10)} %  ${(r.communicatedBytes / 2 ** 20).toFixed(1).padStart(8)} MiB  ${`${r.jPerSample?.toPrecision(3)} (${r.energySource})`.padEnd(23)}  ${r.samplesPerS?.toFixed(1)}\n`);
    process.stdout.write(`bf16 vs fp32: ${verdict.bf16AccuracyGapPoints.toFixed(2)} points of accuracy, ${verdict.bf16BytesRatio.toFixed(2)}× the bytes\n`);
  }
  fs.rmSync(scratch, { recursive: true, force: true });
  if (verdict.bf16AccuracyGapPoints > 0.5 || verdict.bf16BytesRatio > 0.51) process.exit(1);
}

main().catch((error) => {
  process.stderr.write(`bench:train-precision: ${error.message}\n`);
  fs.rmSync(scratch, { recursive: true, force: true });
  process.exit(1);
});
