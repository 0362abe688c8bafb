// RAPL through a fake powercap tree: domain choice, wraparound, unreadable counters and their messages.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import type { Step } from './fixtures/measure';
import { measure } from './fixtures/run-fixture';
import { skipBecause } from '../helpers/skip';
import { fakePowercap } from './powercap';

/** Whether every folder down to `dir` lets other users through and `dir` lets them read. */
function reachableByOthers(dir: string): boolean {
  for (let current = dir; ; current = path.dirname(current)) {
    const mode = fs.statSync(current).mode;
    if ((mode & 0o001) === 0 || (current === dir && (mode & 0o004) === 0)) return false;
    if (current === path.dirname(current)) return true;
  }
}

const range = 10_000_000; // 10 J, so a few scripted steps wrap it
const zones = [
  { zone: 'intel-rapl:0', name: 'package-0', energyUj: 9_000_000, maxEnergyRangeUj: range, maxPowerUw: 1_000_000 },
  { zone: 'intel-rapl:0/intel-rapl:0:0', name: 'dram', energyUj: 100, maxEnergyRangeUj: range, maxPowerUw: 1_000_000 },
  // Parts of package-0 (core) and the platform (psys): counting them would count energy twice.
  { zone: 'intel-rapl:0/intel-rapl:0:1', name: 'core', energyUj: 0, maxEnergyRangeUj: range },
  { zone: 'intel-rapl:2', name: 'psys', energyUj: 0, maxEnergyRangeUj: range },
  // The same package counter through MMIO.
  { zone: 'intel-rapl-mmio:0', name: 'package-0', energyUj: 0, maxEnergyRangeUj: range },
  { zone: 'intel-rapl:1', name: 'package-1', maxEnergyRangeUj: range, unreadable: true },
];

describe('power: RAPL (fake powercap tree)', function () {
  this.timeout(60_000);

  it('adds package and DRAM once, across a wraparound, and says why a zone is unreadable', async () => {
    const tree = fakePowercap(zones);
    try {
      const write = (zone: string, uj: number): Step => ({ op: 'write', file: tree.energyFile(zone), text: `${uj}\n` });
      const pause: Step = { op: 'sleep', ms: 60 };
      const steps: Step[] = [
        { op: 'begin', name: 'scripted' },
        pause,
        write('intel-rapl:0', 9_600_000),
        write('intel-rapl:0/intel-rapl:0:0', 300_100),
        write('intel-rapl:0/intel-rapl:0:1', 5_000_000),
        write('intel-rapl-mmio:0', 5_000_000),
        pause,
        write('intel-rapl:0', 9_900_000),
        pause,
        write('intel-rapl:0', 200_000), // wrapped: +0.3 J
        write('intel-rapl:2', 9_000_000),
        pause,
        write('intel-rapl:0', 700_000),
        write('intel-rapl:0/intel-rapl:0:0', 500_100),
        pause,
        { op: 'end' },
      ];
      const out = await measure({ monitor: { periodMs: 10, rapl: true, powercapRoot: tree.root }, steps });
      assert.deepEqual(out.channels.map((c) => c.label), ['package-0@intel-rapl:0', 'dram@intel-rapl:0:0', 'process']);
      const [unreadable] = out.unavailable;
      assert.equal(unreadable.source, `rapl:${tree.root}/intel-rapl:1`);
      assert.equal(unreadable.reason, `cannot read ${tree.root}/intel-rapl:1/energy_uj: Is a directory`);

      const [window] = out.windows;
      const pkg = window.figures.find((f) => f.device === 'package-0@intel-rapl:0')!;
      const dram = window.figures.find((f) => f.device === 'dram@intel-rapl:0:0')!;
      assert.equal(pkg.source, 'rapl');
      assert.equal(pkg.nodeLevel, true);
      assert.ok(Math.abs(pkg.energyJ - 1.7) < 1e-9, `package ${pkg.energyJ} J`);
      assert.equal(pkg.wraps, 1);
      assert.ok(Math.abs(dram.energyJ - 0.5) < 1e-9, `dram ${dram.energyJ} J`);
      assert.equal(dram.wraps, 0);
      assert.ok(Math.abs(window.energyJ! - 2.2) < 1e-9);
      assert.equal(window.modelEnergyJ, null, 'with RAPL the CPU is measured, not modelled');
      assert.equal(window.figures.filter((f) => f.source === 'model').length, 0);
    } finally {
      tree.remove();
    }
  });

  it('names the file and the fix when a non-root user may not read energy_uj (EACCES)', async function () {
    if (process.getuid?.() !== 0) skipBecause(this, 'needs root to make a counter another user cannot read');
    if (!reachableByOthers(path.resolve(__dirname, '..', '..'))) skipBecause(this, 'user nobody cannot reach the fixture in this checkout');
    const tree = fakePowercap(zones.slice(0, 2));
    const packageFile = tree.energyFile('intel-rapl:0');
    fs.chmodSync(packageFile, 0o600);
    try {
      const nobody = 65534;
      const out = await measure(
        { monitor: { periodMs: 50, rapl: true, powercapRoot: tree.root }, steps: [{ op: 'begin', name: 'w' }, { op: 'burn', ms: 50 }, { op: 'end' }] },
        { HOME: '/tmp', TSX_DISABLE_CACHE: '1' },
        nobody,
      );
      const denied = out.unavailable.find((u) => u.source === `rapl:${tree.root}/intel-rapl:0`);
      assert.ok(denied, JSON.stringify(out.unavailable));
      assert.match(denied.reason, new RegExp(`^cannot read ${packageFile}: Permission denied \\(since Linux 5\\.10 only root may read RAPL counters: run as root, or have an admin run \`chmod o\\+r\``));
      // The readable DRAM zone still counts; without the package counter the CPU is modelled.
      assert.deepEqual(out.channels.map((c) => c.label), ['dram@intel-rapl:0:0', 'process']);
      const [window] = out.windows;
      assert.deepEqual(window.figures.map((f) => [f.device, f.source]), [['dram@intel-rapl:0:0', 'rapl'], ['cpu', 'model']]);
    } finally {
      tree.remove();
    }
  });
});
