// Energy figures that do not contradict each other: a failed run counts what it consumed, peak power is
// never below mean power, and energyJ means "measured" at every level of run.json.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { WindowResult } from '../../src/power/types';
import { fakeNvml, joule } from '../helpers/run';
import { measure } from './fixtures/run-fixture';
import { fakePowercap } from './powercap';

const failAfterStep = path.join(__dirname, 'fixtures', 'fail-after-step.js');
const steps = [
  { op: 'begin', name: 'step' },
  { op: 'begin', name: 'compute' },
  { op: 'burn', ms: 120 },
  { op: 'end' },
  { op: 'begin', name: 'short' },
  { op: 'burn', ms: 2 },
  { op: 'end' },
  { op: 'sleep', ms: 150 },
  { op: 'end' },
] as const;

function assertPeakAtLeastMean(windows: WindowResult[], what: string): void {
  for (const window of windows) {
    if (window.peakPowerW !== null) assert.ok(window.peakPowerW >= window.meanPowerW, `${what} ${window.name}: peak ${window.peakPowerW} W < mean ${window.meanPowerW} W`);
    for (const figure of window.figures) {
      if (figure.peakPowerW !== null) assert.ok(figure.peakPowerW >= figure.meanPowerW, `${what} ${window.name} ${figure.device}: peak ${figure.peakPowerW} W < mean ${figure.meanPowerW} W`);
    }
  }
}

describe('power: consistent figures', function () {
  this.timeout(90_000);

  it('peak power is at least mean power in every window and figure: model only, fake NVML, fake RAPL', async () => {
    const tree = fakePowercap([{ zone: 'intel-rapl:0', name: 'package-0', energyUj: 1_000, maxEnergyRangeUj: 262_143_328_850 }]);
    try {
      const variants = [
        { what: 'model', input: { monitor: { periodMs: 20, gpus: [0] }, steps: [...steps] }, env: {} },
        { what: 'nvml', input: { monitor: { periodMs: 20, gpus: [0] }, steps: [...steps] }, env: { JOULE_NVML_LIBRARY: fakeNvml, JOULE_FAKE_NVML_POWER_W: '120' } },
        { what: 'rapl', input: { monitor: { periodMs: 20, rapl: true, powercapRoot: tree.root }, steps: [...steps] }, env: {} },
      ];
      for (const variant of variants) {
        const out = await measure(variant.input as Parameters<typeof measure>[0], variant.env);
        assertPeakAtLeastMean([...out.windows, out.run], variant.what);
      }
    } finally {
      tree.remove();
    }
  });

  it('a failed run counts the energy its ranks consumed until they ended, and says which ranks never finished', async () => {
    const tree = fakePowercap([{ zone: 'intel-rapl:0', name: 'package-0', energyUj: 1_000, maxEnergyRangeUj: 262_143_328_850 }]);
    const runDir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'joule-failed-energy-')), 'run');
    try {
      const result = await joule(['launch', '-n', '2', '--run-dir', runDir, '--json', '--', process.execPath, failAfterStep], {
        JOULE_POWERCAP_ROOT: tree.root,
        TEST_RAPL_COUNTER: tree.energyFile('intel-rapl:0'),
      });
      assert.equal(result.code, 3, result.stderr);
      const run = JSON.parse(fs.readFileSync(path.join(runDir, 'run.json'), 'utf8'));
      assert.equal(run.status, 'failed');
      const totals = run.energy.totals;
      assert.ok(Math.abs(totals.measuredJ - 5) < 1e-9, `the counter moved by 5 J before the failure: ${totals.measuredJ}`);
      assert.equal(totals.energyJ, totals.measuredJ, 'energyJ is measured only');
      assert.ok(totals.kWh > 0 && totals.co2eG > 0);
      assert.deepEqual(totals.incompleteRanks, [0, 1]);
      assert.equal(run.energy.nodes[0].energyJ, totals.energyJ);
    } finally {
      tree.remove();
      fs.rmSync(path.dirname(runDir), { recursive: true, force: true });
    }
  });
});
