import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { writeSmiLog } from '../helpers/nvidia-smi';
import { joule } from '../helpers/run';
import { scriptedPower } from './synthetic';

/** An nvidia-smi log of two GPUs at 1 Hz (a 120 s warm-up, then steady), one reading missing, with 60 s epochs. */
function writeLog(dir: string, name: string, seed: number): string {
  const power = [scriptedPower({ seconds: 1201, warmupS: 120, seed }), scriptedPower({ seconds: 1201, warmupS: 120, seed: seed + 100 })];
  return writeSmiLog(dir, name, power, { missing: { gpu: 1, s: 500 } });
}

describe('joule estimate', function () {
  this.timeout(60_000);
  let dir: string;
  let profile: string;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'joule-estimate-cli-'));
    profile = path.join(dir, 'h100test.json');
    fs.writeFileSync(profile, JSON.stringify({
      name: 'h100test',
      node: { gpusPerNode: 4, gpuModel: 'H100-SXM5-80GB', gpuTdpW: 700, cpuCoresPerNode: 64, cpuTdpWPerCore: 5 },
      energy: { pue: 1.2, carbonIntensityGPerKWh: 300 },
    }));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('--trace: the measured energy with gaps and left-out lines, and what each method projects', async () => {
    const trace = writeLog(dir, 'a', 1);
    const r = await joule(['estimate', '--trace', trace, '--profile', profile, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    assert.equal(out.format, 'nvidia-smi');
    assert.equal(out.measured.epochs, 20);
    assert.equal(out.measured.source, 'nvidia-smi');
    assert.deepEqual(out.issues.byKind, { 'missing-value': 1 });
    assert.equal(out.issues.first[0].line, 1003);
    assert.equal(out.measured.gaps, 0);
    assert.equal(out.measured.longestGapS, null);
    assert.equal(out.stabilizing.how, 'detected');
    const byMethod = Object.fromEntries(out.estimates.map((e: { method: string; energyJ: number | null }) => [e.method, e.energyJ]));
    assert.equal(byMethod.tdp, 700 * 2 * 1200);
    const step = out.estimates.find((e: { method: string }) => e.method === 'step');
    assert.equal(step.inputs.s, out.stabilizing.index);
    assert.ok(Math.abs(step.energyJ - (step.inputs.beforeJ + (step.inputs.windowJ * (20 - step.inputs.s)) / 5)) < 1e-6);
    // s falls in the 120 s warm-up ramp, so the window holds some of it: STEP comes out a little low.
    assert.ok(Math.abs(byMethod.step - out.measured.energyJ) / out.measured.energyJ < 0.05, `step ${byMethod.step} vs ${out.measured.energyJ}`);
    assert.equal(byMethod['gpu-hours'], null);
    const table = await joule(['estimate', '--trace', trace, '--profile', profile]);
    assert.match(table.stdout, /measured .* \[nvidia-smi\] over 1200\.0 s, 20 epoch\(s\)/);
    assert.match(table.stdout, /^step +\d/m);
  });

  it('--validate over traces: RMSE, MAPE and worst case per method, and the TDP/STEP ratio', async () => {
    const files = [writeLog(dir, 'b', 2), writeLog(dir, 'c', 3)];
    // As a shell expands logs/*.csv: the epochs files come along and are read with their traces.
    const glob = [...files, ...files.map((f) => f.replace(/\.csv$/, '.epochs.csv'))].sort();
    const r = await joule(['estimate', '--validate', ...glob, '--profile', profile, '--stabilizing-epoch', '3', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    assert.deepEqual(out.truthSources, ['nvidia-smi']);
    assert.deepEqual(out.traces.map((t: { name: string; epochs: number }) => [path.basename(t.name), t.epochs]), [['b.csv', 20], ['c.csv', 20]]);
    const step = out.methods.find((m: { method: string }) => m.method === 'step');
    assert.equal(step.n, 2);
    assert.ok(step.mapePct < 2, `STEP MAPE ${step.mapePct}`);
    assert.ok(out.tdpOverStepRmse > 1);
    const carbontracker = out.methods.find((m: { method: string }) => m.method === 'carbontracker');
    assert.ok(carbontracker.worst.name.endsWith('.csv'));
  });

  it('before training: each method answers or says what it lacks', async () => {
    const r = await joule(['estimate', '--profile', profile, '--params', '25557032', '--flops-per-sample', '8.2e9', '--gpus', '8', '--epochs', '90', '--duration', '10h', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    const by = (m: string) => out.estimates.find((e: { method: string }) => e.method === m);
    assert.equal(by('tdp').energyJ, 700 * 8 * 36_000);
    assert.equal(by('green-algorithms').energyJ, 36_000 * 1.2 * (128 * 5 + 8 * 700));
    assert.equal(by('carbontracker').energyJ, null);
    assert.match(by('step').lacks[0], /predict-after/);
    assert.match(by('pre-krr').lacks[0], /past runs/);
    assert.equal(out.devices.nodes, 2);
  });

  it('bad input: exit 2, the error code, no stack trace', async () => {
    const missing = await joule(['estimate', '--trace', path.join(dir, 'nope.csv')]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /no such trace: .*nope\.csv \[JOULE_BAD_ARGUMENT\]/);
    assert.doesNotMatch(missing.stderr, /at .*\.js:\d+/);
    const bad = path.join(dir, 'bad.csv');
    fs.writeFileSync(bad, 'when,watts\n1,2\n');
    const columns = await joule(['estimate', '--trace', bad]);
    assert.equal(columns.code, 2);
    assert.match(columns.stderr, /header names no time column/);
    const none = await joule(['estimate']);
    assert.equal(none.code, 2);
    assert.match(none.stderr, /give --profile and --epochs/);
  });
});
