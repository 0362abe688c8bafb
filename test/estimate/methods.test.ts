import assert from 'node:assert/strict';
import { carbontrackerEstimate } from '../../src/estimate/methods/carbontracker';
import { fitGpuHoursLaw, gpuHoursEstimate } from '../../src/estimate/methods/gpu-hours';
import { greenAlgorithmsEstimate, memoryWPerGB } from '../../src/estimate/methods/green-algorithms';
import { onlinePowerEstimate } from '../../src/estimate/methods/online-power';
import { stepEstimate } from '../../src/estimate/methods/step';
import { tdpEstimate } from '../../src/estimate/methods/tdp';
import { projectFromTrace } from '../../src/estimate/from-trace';
import { cumulativeEnergy, epochEnergies } from '../../src/estimate/trace';
import { scriptedPower, traceOf } from './synthetic';

const close = (actual: number | null, expected: number, relative = 1e-12) =>
  assert.ok(actual !== null && Math.abs(actual - expected) <= relative * Math.abs(expected), `${actual} != ${expected}`);

describe('estimation methods', () => {
  it('TDP: TDP × hours × devices, PUE only beside it', () => {
    const e = tdpEstimate({ hardware: 'gpu', tdpW: 400, devices: 4, durationS: 2 * 3600, pue: 1.2 });
    close(e.energyJ, 400 * 4 * 7200);
    close(e.inputs.withPueJ as number, 400 * 4 * 7200 * 1.2);
    const none = tdpEstimate({ hardware: 'gpu', tdpW: 400, devices: 4 });
    assert.equal(none.energyJ, null);
    assert.deepEqual(none.lacks, ['durationS']);
  });

  it('Green Algorithms: t × PUE × (cores·P·u + GPUs·P·u + memory·0.3725 W)', () => {
    const e = greenAlgorithmsEstimate({ durationS: 3600, pue: 1.5, cores: 16, coreW: 12, coreUsage: 0.5, gpus: 2, gpuW: 300, gpuUsage: 0.8, memoryGB: 64 });
    close(e.energyJ, 3600 * 1.5 * (16 * 12 * 0.5 + 2 * 300 * 0.8 + 64 * 0.3725));
    assert.equal(memoryWPerGB, 0.3725);
    const noMemory = greenAlgorithmsEstimate({ durationS: 10, pue: 1, cores: 1, coreW: 10 });
    close(noMemory.energyJ, 100);
    assert.match(noMemory.notes!.join(), /memory term left out/);
    assert.deepEqual(greenAlgorithmsEstimate({ durationS: 10, pue: 1, cores: 1, coreW: 10, gpus: 1 }).lacks, ['gpuW']);
  });

  it('carbontracker: first epoch(s) × planned epochs', () => {
    const epochs = [{ durationS: 10, energyJ: 1000 }, { durationS: 8, energyJ: 600 }, { durationS: 8, energyJ: 600 }];
    close(carbontrackerEstimate(epochs, 50).energyJ, 50_000);
    close(carbontrackerEstimate(epochs, 50, 2).energyJ, 800 * 50);
    close(carbontrackerEstimate(epochs, 50, 2).durationS!, 9 * 50);
    assert.equal(carbontrackerEstimate(epochs, undefined).energyJ, null);
  });

  it('GPU-hours law: k through the origin, R² and spread', () => {
    const exact = fitGpuHoursLaw([1, 2, 4].map((h, i) => ({ name: `r${i}`, gpuHours: h, energyJ: 1.2e6 * h })))!;
    close(exact.kJPerGpuHour, 1.2e6);
    close(exact.r2!, 1);
    close(exact.ratioStd! + 1, 1);
    const noisy = fitGpuHoursLaw([{ name: 'a', gpuHours: 1, energyJ: 1e6 }, { name: 'b', gpuHours: 2, energyJ: 2.4e6 }])!;
    // k = (1e6·1 + 2.4e6·2) / (1 + 4)
    close(noisy.kJPerGpuHour, 5.8e6 / 5);
    assert.ok(noisy.r2! < 1);
    assert.equal(noisy.ratioMin, 1e6);
    assert.equal(noisy.ratioMax, 1.2e6);
    close(gpuHoursEstimate(exact, 8, 1800, 'x').energyJ, 1.2e6 * 4);
    assert.equal(gpuHoursEstimate(null, 8, 1800, 'resnet50 on a100').energyJ, null);
  });

  // Warm-up epochs 0-1, then steady epochs: 100 s at 250 W each.
  const epochs = [
    { durationS: 130, energyJ: 20_000 },
    { durationS: 110, energyJ: 26_000 },
    ...Array.from({ length: 6 }, () => ({ durationS: 100, energyJ: 25_000 })),
  ];

  it('online power-based: window mean power × total time (planned or projected)', () => {
    const e = onlinePowerEstimate(epochs, { s: 2, w: 3 }, 20);
    // P = 75 kJ / 300 s = 250 W; T = 130 + 110 + 300 + 100 × (20 − 5) = 2040 s.
    close(e.energyJ, 250 * 2040);
    close(e.durationS!, 2040);
    close(onlinePowerEstimate(epochs, { s: 2, w: 3 }, 20, 3000).energyJ, 250 * 3000);
    assert.match(onlinePowerEstimate(epochs, { s: 6, w: 5 }, 20).lacks![0], /11 epochs/);
  });

  it('STEP: energy before s + window energy × (N − s) / w', () => {
    const e = stepEstimate(epochs, { s: 2, w: 3 }, 20);
    close(e.energyJ, 46_000 + 75_000 * (18 / 3));
    close(e.durationS!, 240 + 300 * 6);
    assert.equal(stepEstimate(epochs, { s: 2, w: 3 }, 4).energyJ, null);
  });

  it('online methods recover a steady trace\'s energy from its first epochs; TDP does not', () => {
    const power = scriptedPower({ seconds: 60 * 30 + 1, warmupS: 150, seed: 3 });
    const trace = traceOf(power, 60);
    const truth = epochEnergies(trace).reduce((s, e) => s + e.energyJ, 0);
    close(truth, cumulativeEnergy(trace.series[0])(1800), 1e-9);
    const hardware = { profile: 'test', gpusPerNode: 4, gpuTdpW: 700, cpuCoresPerNode: 64, cpuTdpWPerCore: 5, pue: 1, carbonGPerKWh: 400 };
    const p = projectFromTrace({ trace }, { hardware, s: 3, w: 5 });
    const by = (m: string) => p.estimates.find((e) => e.method === m)!.energyJ!;
    close(p.measured.energyJ, truth, 1e-12);
    assert.ok(Math.abs(by('step') - truth) / truth < 0.01, `step ${by('step')} vs ${truth}`);
    // It applies the steady power to the warm-up too, so it overshoots by about the warm-up's deficit.
    assert.ok(by('online-power') > truth && (by('online-power') - truth) / truth < 0.05, `online ${by('online-power')} vs ${truth}`);
    close(by('tdp'), 700 * 1800);
    assert.ok(by('tdp') > 2 * truth);
  });

  it('a model series beside a measured one is never added into the measured energy', () => {
    const measured = { device: 'gpu0', source: 'nvml' as const, timesS: [0, 10, 20], powerW: [100, 100, 100] };
    const model = { device: 'cpu', source: 'model' as const, timesS: [0, 10, 20], powerW: [10, 10, 10] };
    const p = projectFromTrace({ trace: { name: 'mixed', format: 'joule-run', series: [measured, model], epochs: [], issues: [] } });
    close(p.measured.energyJ, 2000);
    assert.equal(p.measured.source, 'nvml');
    const modelOnly = projectFromTrace({ trace: { name: 'model', format: 'joule-run', series: [model], epochs: [], issues: [] } });
    close(modelOnly.measured.energyJ, 200);
    assert.equal(modelOnly.measured.source, 'model');
  });
});
