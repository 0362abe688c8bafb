// The studies' findings on sweeps, checked against figures chosen here: energy ≈ k × device-hours per model and profile across two clusters' sweeps, speed-up and efficiency, accuracy against GBS, energy per sample by precision and strategy.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { compare } from '../../src/experiments/compare';
import { sweepFindings } from '../../src/experiments/findings';
import { sweepConfigs } from '../../src/experiments/figures';
import { joule } from '../helpers/run';
import { writeFixtureSweep } from './fixtures';

const close = (a: number, b: number, what: string) => assert.ok(Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(b)), `${what}: ${a} vs ${b}`);

describe('findings of sweeps (compare and report)', function () {
  this.timeout(60_000);
  let dir = '';
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'joule-findings-'));
    // Two clusters' scaling sweeps: 200 W per GPU on a100 (720 kJ per GPU-hour), 350 W per GPU on h100 (1.26 MJ).
    for (const [profile, watts, durations] of [['a100', 200, [100, 52, 27]], ['h100', 350, [60, 32, 18]]] as const) {
      writeFixtureSweep(path.join(dir, profile), { gpus: [1, 2, 4] }, [1, 2, 4].map((gpus, i) => ({ params: { gpus }, runs: [{ energyJ: watts * gpus * durations[i], durationS: durations[i], accuracy: [0.9, 0.88, 0.85][i] }] })), { profile });
    }
    writeFixtureSweep(path.join(dir, 'precision-strategy'), { precision: ['fp32', 'bf16'], strategy: ['dp', 'pp'] }, [
      { params: { precision: 'fp32', strategy: 'dp' }, runs: [{ energyJ: 640, durationS: 10, accuracy: 0.9 }] },
      { params: { precision: 'bf16', strategy: 'dp' }, runs: [{ energyJ: 480, durationS: 8, accuracy: 0.9 }] },
      { params: { precision: 'fp32', strategy: 'pp' }, runs: [{ energyJ: 960, durationS: 14, accuracy: 0.9 }] },
      { params: { precision: 'bf16', strategy: 'pp' }, runs: [{ energyJ: 800, durationS: 12, accuracy: 0.9 }] },
    ]);
    // Measured and modelled runs of one model on one profile: no line through both.
    writeFixtureSweep(path.join(dir, 'mixed'), { gpus: [1, 2] }, [
      { params: { gpus: 1 }, runs: [{ energyJ: 1000, durationS: 10, accuracy: 0.9 }] },
      { params: { gpus: 2 }, runs: [{ energyJ: 1500, durationS: 6, accuracy: 0.9, source: 'model' }] },
    ]);
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('fits energy ≈ k × device-hours per model and profile across two sweeps, with R²', () => {
    const { findings } = compare([path.join(dir, 'a100'), path.join(dir, 'h100')]);
    assert.ok(findings);
    assert.deepEqual(findings.fits.map((f) => f.group), ['mlp on a100', 'mlp on h100']);
    close(findings.fits[0].k!, 200 * 3600, 'k on a100');
    close(findings.fits[1].k!, 350 * 3600, 'k on h100');
    for (const fit of findings.fits) {
      close(fit.r2!, 1, `R² ${fit.group}`);
      assert.equal(fit.n, 3);
      assert.deepEqual(fit.energySources, ['nvml-counter']);
    }
    assert.equal(findings.energyVsDeviceHours.length, 6);
  });

  it('speed-up and efficiency against GPU count, and accuracy against GBS', () => {
    const findings = sweepFindings(sweepConfigs(path.join(dir, 'a100')));
    assert.deepEqual(findings.scaling.map((r) => r.devices), [1, 2, 4]);
    // The same 6400 samples per run: speed-up is the ratio of wall times.
    for (const [i, durationS] of [100, 52, 27].entries()) {
      close(findings.scaling[i].speedup, 100 / durationS, `speed-up at ${findings.scaling[i].devices}`);
      close(findings.scaling[i].efficiency, 100 / durationS / findings.scaling[i].devices, `efficiency at ${findings.scaling[i].devices}`);
    }
    // lbs 32 per GPU: GBS 32, 64, 128.
    assert.deepEqual(findings.accuracyVsGbs.map((r) => [r.gbs, r.accuracy]), [[32, 0.9], [64, 0.88], [128, 0.85]]);
  });

  it('energy per sample by precision and strategy', () => {
    const findings = sweepFindings(sweepConfigs(path.join(dir, 'precision-strategy')));
    const by = Object.fromEntries(findings.energyPerSample.map((r) => [`${r.precision}/${r.strategy}`, r.jPerSample]));
    assert.deepEqual(by, { 'fp32/dp': 640 / 6400, 'bf16/dp': 480 / 6400, 'fp32/pp': 960 / 6400, 'bf16/pp': 800 / 6400 });
    assert.ok(findings.energyPerSample.every((r) => r.source === 'nvml-counter'));
  });

  it('does not fit measured and modelled energy together', () => {
    const [fit] = sweepFindings(sweepConfigs(path.join(dir, 'mixed'))).fits;
    assert.equal(fit.k, null);
    assert.deepEqual(fit.energySources, ['model', 'nvml-counter']);
  });

  it('joule compare prints the findings of sweeps; the report charts energy per sample by precision and strategy', async () => {
    const text = await joule(['compare', path.join(dir, 'a100'), path.join(dir, 'h100')]);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /^ {2}energy ≈ k × device-hours, mlp on a100: k = 720000 J per device-hour, R² = 1\.000 \(3 runs, energy source nvml-counter\)$/m);
    assert.match(text.stdout, /^ {2}energy ≈ k × device-hours, mlp on h100: k = 1260000 J per device-hour, R² = 1\.000 /m);
    assert.match(text.stdout, /^ {2}scaling a100: 4 devices, speed-up 3\.704, efficiency 0\.9259$/m);
    const out = path.join(dir, 'precision-strategy.html');
    const report = await joule(['report', path.join(dir, 'precision-strategy'), '--out', out]);
    assert.equal(report.code, 0, report.stderr);
    const html = fs.readFileSync(out, 'utf8');
    assert.match(html, /<strong>Energy per sample by precision and strategy\.<\/strong>/);
    const csv = Buffer.from(/download="energy-per-sample-by-precision-and-strategy\.csv" href="data:text\/csv;base64,([^"]+)"/.exec(html)![1], 'base64').toString();
    assert.match(csv, /^config,precision,strategy,series,jPerSample,source\n/);
    assert.equal(csv.trim().split('\n').length, 5);
  });
});
