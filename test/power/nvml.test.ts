// The NVML paths through the fake library: energy counter, power integration, errors, short windows.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PowerMonitor } from '../../src/power/monitor';
import { defaultEnergyProfile } from '../../src/power/profile';
import type { EnergyFigure } from '../../src/power/types';
import { fakeNvml } from '../helpers/run';
import { measure } from './fixtures/run-fixture';

/** The exact integral over [a, b] of the piecewise-linear power through `points` (constant outside). */
function integral(points: [number, number][], a: number, b: number): number {
  const at = (t: number) => {
    if (t <= points[0][0]) return points[0][1];
    for (let i = 1; i < points.length; i++) {
      const [t0, p0] = points[i - 1];
      const [t1, p1] = points[i];
      if (t <= t1) return p0 + ((p1 - p0) * (t - t0)) / (t1 - t0);
    }
    return points[points.length - 1][1];
  };
  const cuts = [a, ...points.map(([t]) => t).filter((t) => t > a && t < b), b];
  let joules = 0;
  for (let i = 1; i < cuts.length; i++) joules += ((at(cuts[i - 1]) + at(cuts[i])) / 2) * (cuts[i] - cuts[i - 1]);
  return joules;
}

const figure = (figures: EnergyFigure[], device: string) => {
  const found = figures.find((f) => f.device === device);
  assert.ok(found, `no figure for ${device}`);
  return found;
};

describe('power: NVML sources (fake NVML)', function () {
  this.timeout(60_000);
  let dir: string;
  before(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'joule-nvml-'))));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('integrates a scripted trace within 0.5 % from the counter, and from power on a GPU without one', async () => {
    // The scripted events start 2.5 s after nvmlInit, so a start-up slowed by a busy machine still sees them inside the window.
    const gpu0: [number, number][] = [[0, 100], [2.5, 300], [3.0, 150], [30, 150]];
    const gpu1: [number, number][] = [[0, 200], [3.2, 50], [4.0, 250], [30, 250]];
    const out = await measure(
      {
        monitor: { periodMs: 10, gpus: [0, 1] },
        nvmlTrace: {
          file: path.join(dir, 'trace.txt'),
          lines: [
            ...gpu0.map(([t, w]) => `power 0 ${t} ${w}`),
            ...gpu1.map(([t, w]) => `power 1 ${t} ${w}`),
            'no-counter 1',
            // Mid-run errors: the counter bridges its gap exactly; power is interpolated across
            // its gap, which lies on one linear piece, so the integral stays exact.
            'error 0 energy 2.6 2.8 999',
            'error 1 power 2.6 2.8 999',
          ],
        },
        steps: [{ op: 'begin', name: 'trace' }, { op: 'sleep', ms: 3800 }, { op: 'end' }],
      },
      { JOULE_NVML_LIBRARY: fakeNvml },
    );
    const [window] = out.windows;
    const origin = out.traceOriginS!;
    const [a, b] = [window.startS - origin, window.endS - origin];
    assert.ok(a < 2.6 && b > 2.8, `the window [${a}, ${b}] must contain the scripted errors`);

    const counter = figure(window.figures, 'gpu0');
    assert.equal(counter.source, 'nvml-counter');
    const expected0 = integral(gpu0, a, b);
    assert.ok(Math.abs(counter.energyJ - expected0) / expected0 < 0.005, `counter ${counter.energyJ} J vs ${expected0} J`);
    assert.ok(counter.errors['999'] > 0, 'the counter errors are recorded');
    assert.equal(counter.coverage, 1);

    const power = figure(window.figures, 'gpu1');
    assert.equal(power.source, 'nvml-power');
    assert.match(power.fallbackReason!, /nvmlDeviceGetTotalEnergyConsumption failed: driver error 3: Not Supported/);
    const expected1 = integral(gpu1, a, b);
    assert.ok(Math.abs(power.energyJ - expected1) / expected1 < 0.005, `power ${power.energyJ} J vs ${expected1} J`);
    assert.ok(power.errors['999'] > 0, 'the power errors are recorded');
    const uncoveredS = (1 - power.coverage) * window.durationS;
    assert.ok(uncoveredS >= 0.19 && uncoveredS < 0.5, `the 0.2 s of failed power reads are uncovered: ${uncoveredS} s`);
    assert.ok(power.peakPowerW! <= 250 && power.peakPowerW! >= 200);

    assert.equal(window.energyJ, counter.energyJ + power.energyJ);
    assert.deepEqual(Object.keys(window.bySource).sort(), ['model', 'nvml-counter', 'nvml-power']);
    assert.equal(out.stats.overrunSamples, 0);
    assert.deepEqual(out.channels.map((c) => [c.label, c.energyCounter]), [['gpu0', true], ['gpu1', false], ['process', undefined]]);
  });

  it('counts a counter reset (driver reload) and bridges it with the power reading', async () => {
    const gpu2: [number, number][] = [[0, 180], [30, 180]];
    const out = await measure(
      {
        monitor: { periodMs: 10, gpus: [2] },
        nvmlTrace: { file: path.join(dir, 'reset.txt'), lines: [...gpu2.map(([t, w]) => `power 2 ${t} ${w}`), 'reset 2 0.5'] },
        steps: [{ op: 'begin', name: 'reset' }, { op: 'sleep', ms: 1000 }, { op: 'end' }],
      },
      { JOULE_NVML_LIBRARY: fakeNvml, JOULE_FAKE_NVML_GPUS: '3' },
    );
    const [window] = out.windows;
    const [a, b] = [window.startS - out.traceOriginS!, window.endS - out.traceOriginS!];
    assert.ok(a < 0.5 && b > 0.5, `the window [${a}, ${b}] must contain the reset`);
    const gpu = figure(window.figures, 'gpu2');
    assert.equal(gpu.source, 'nvml-counter');
    assert.equal(gpu.resets, 1);
    const expected = integral(gpu2, a, b);
    assert.ok(Math.abs(gpu.energyJ - expected) / expected < 0.005, `${gpu.energyJ} J vs ${expected} J`);
  });

  it('flags a window shorter than the sampling period as interpolated, and still gets its energy', async () => {
    const out = await measure(
      { monitor: { periodMs: 50, gpus: [0] }, steps: [{ op: 'sleep', ms: 20 }, { op: 'begin', name: 'short' }, { op: 'burn', ms: 3 }, { op: 'end' }] },
      { JOULE_NVML_LIBRARY: fakeNvml, JOULE_FAKE_NVML_POWER_W: '120' },
    );
    const [window] = out.windows;
    const gpu = figure(window.figures, 'gpu0');
    assert.equal(window.interpolated, true);
    assert.equal(gpu.interpolated, true);
    assert.ok(Math.abs(gpu.energyJ - 120 * window.durationS) / (120 * window.durationS) < 0.005, `${gpu.energyJ} J in ${window.durationS} s`);
  });

  it('falls back to the model, labelled as such, when NVML is absent', async () => {
    const out = await measure(
      { monitor: { periodMs: 20, gpus: [0] }, steps: [{ op: 'begin', name: 'step' }, { op: 'begin', name: 'compute' }, { op: 'burn', ms: 200 }, { op: 'end' }, { op: 'sleep', ms: 200 }, { op: 'end' }] },
      { JOULE_NVML_LIBRARY: '/nonexistent/libnvidia-ml.so.1' },
    );
    assert.match(out.unavailable.find((u) => u.source === 'nvml')!.reason, /not found: \/nonexistent/);
    const step = out.windows.find((w) => w.name === 'step')!;
    assert.equal(step.energyJ, null, 'nothing was measured');
    const gpu = figure(step.figures, 'gpu0');
    assert.equal(gpu.source, 'model');
    assert.equal(gpu.model!.formula, 'energyJ = gpuTdpW × utilization × durationS');
    const utilization = gpu.model!.inputs.utilization as number;
    assert.ok(utilization > 0.2 && utilization < 0.8, `compute was about half of the step: ${utilization}`);
    assert.ok(gpu.energyJ > 0 && gpu.energyJ <= 400 * step.durationS);
    const cpu = figure(step.figures, 'cpu');
    assert.equal(cpu.source, 'model');
    assert.ok(cpu.energyJ > 0 && cpu.energyJ <= defaultEnergyProfile.cpuTdpPerCoreW * os.cpus().length * step.durationS);
    assert.equal(cpu.model!.inputs.cpuTdpPerCoreW, defaultEnergyProfile.cpuTdpPerCoreW);
    assert.equal(step.modelEnergyJ, gpu.energyJ + cpu.energyJ);
  });

  it('rejects a period below what NVML can deliver', async () => {
    await assert.rejects(new PowerMonitor({ periodMs: 5, gpus: [0] }).start(), { code: 'JOULE_BAD_ARGUMENT', message: /at least|between 10 ms/ });
  });
});
