import assert from 'node:assert/strict';
import { estimateBefore, type PlannedRun } from '../../src/estimate/before';
import type { Hardware } from '../../src/estimate/hardware';
import type { LoadedTrace } from '../../src/estimate/import';
import type { PreRow } from '../../src/estimate/pre/features';
import { epochEnergies } from '../../src/estimate/trace';
import { scriptedPower, traceOf } from './synthetic';

const hardware: Hardware = { profile: 'h100test', gpusPerNode: 4, gpuTdpW: 700, cpuCoresPerNode: 64, cpuTdpWPerCore: 5, pue: 1.2, carbonGPerKWh: 300 };
const plan: PlannedRun = { hardware, model: { name: 'resnet50', parameters: 25_557_032, flopsPerSample: 8.2e9, from: 'test' }, gpus: 2, epochs: 40, batchSize: 256 };

/** Three past runs of the plan's model on its profile: 2 GPUs, 20 epochs of 60 s. */
function history(): LoadedTrace[] {
  return [1, 2, 3].map((seed) => ({
    trace: { ...traceOf(scriptedPower({ seconds: 1201, warmupS: 120, seed }), 60), name: `run${seed}` },
    info: { dir: `run${seed}`, gpus: 2, config: { model: 'resnet50' }, profile: { name: 'h100test', node: { gpusPerNode: 4, gpuTdpW: 700 }, energy: { pue: 1.2, carbonIntensityGPerKWh: 300 } } },
  }));
}

describe('estimates before training', () => {
  it('time and the GPU-hours law from past runs of the same model and profile, expected errors from validating them', () => {
    const past = history();
    const report = estimateBefore(plan, past, [], { s: 2, w: 5 });
    assert.equal(report.duration.durationS, 60 * 40);
    assert.match(report.duration.from, /3 past run/);
    const energies = past.map((h) => epochEnergies(h.trace).reduce((s, e) => s + e.energyJ, 0));
    // Every past run has the same GPU-hours h, so k = mean(E)/h, and this run has twice their hours.
    const gpuHours = report.estimates.find((e) => e.method === 'gpu-hours')!;
    const expected = 2 * (energies.reduce((a, b) => a + b, 0) / 3);
    assert.ok(Math.abs(gpuHours.energyJ! - expected) / expected < 1e-12, `${gpuHours.energyJ} vs ${expected}`);
    const tdp = report.estimates.find((e) => e.method === 'tdp')!;
    assert.equal(tdp.energyJ, 700 * 2 * 2400);
    assert.equal(tdp.expected!.n, 3);
    assert.equal(tdp.expected!.from, 'validation over --history');
    const step = report.estimates.find((e) => e.method === 'step')!;
    assert.equal(step.energyJ, null);
    assert.ok(step.expected!.mapePct < 2, `STEP's validated MAPE ${step.expected!.mapePct}`);
    assert.equal(report.validation!.traces.length, 3);
  });

  it('without a time, the time-based methods say which flag gives it', () => {
    const report = estimateBefore(plan);
    const tdp = report.estimates.find((e) => e.method === 'tdp')!;
    assert.equal(tdp.energyJ, null);
    assert.match(tdp.lacks![0], /--duration/);
    assert.equal(report.validation, null);
  });

  it('PRE answers from enough past rows: energy per epoch × epochs', () => {
    const rows: PreRow[] = [[64, 1], [128, 1], [128, 2], [256, 4], [512, 2], [512, 8]].map(([batchSize, gpus], i) => ({
      name: `row${i}`,
      features: { batchSize, gpus },
      energyPerEpochJ: 1000 + 10 * batchSize + 500 * gpus,
      meanPowerW: 100 + 50 * gpus,
      source: 'nvml',
    }));
    const report = estimateBefore({ ...plan, durationS: 3600 }, [], rows);
    const linear = report.estimates.find((e) => e.method === 'pre-linear')!;
    const perEpoch = 1000 + 10 * 256 + 500 * 2;
    assert.ok(Math.abs(linear.energyJ! - perEpoch * 40) / (perEpoch * 40) < 1e-6, `${linear.energyJ} vs ${perEpoch * 40}: ${JSON.stringify(linear)}`);
    assert.ok(Math.abs((linear.inputs.powerRouteJ as number) / (200 * 3600) - 1) < 1e-6, String(linear.inputs.powerRouteJ));
    assert.equal(linear.inputs.features, 'batchSize,gpus');
    assert.equal(linear.expected!.from, 'cross-validation (energy per epoch)');
    const krr = report.estimates.find((e) => e.method === 'pre-krr')!;
    assert.ok(krr.energyJ! > 0, JSON.stringify(krr));
  });
});
