// world.power: a rank's monitor attached to a World, its records in the world's stream, idle baseline.
import assert from 'node:assert/strict';
import { PowerMonitor } from '../../src/power/monitor';
import { energySummary } from '../../src/power/records';
import type { WindowResult } from '../../src/power/types';
import { attachPower, idleBaselineFromEnv } from '../../src/power/world';
import { parseDurationS } from '../../src/units';
import type { World } from '../../src/world/types';
import { joule } from '../helpers/run';
import { fakePowercap } from './powercap';

function fakeWorld(localRank: number) {
  const records: Record<string, unknown>[] = [];
  const barriers: string[] = [];
  const modules = new Map<string, { finalize?(): Promise<void> | void }>();
  const world = {
    rank: localRank, size: 2, localRank, localSize: 2, nodeRank: 0, nodes: 1, host: 'node-a', runDir: '', gpus: [], gpuBinding: 'none', cpus: [0], cpuBinding: 'none',
    kv: {} as World['kv'],
    barrier: async (name?: string) => void barriers.push(name ?? ''),
    log: () => undefined,
    metrics: { record: () => undefined },
    stream: (name: string, record: Record<string, unknown>) => records.push({ stream: name, ...record }),
    setActivity: () => undefined,
    onAbort: () => undefined,
    abort: async () => { throw new Error('abort'); },
    finalize: async () => undefined,
    attachModule<T extends { finalize?(): Promise<void> | void }>(name: string, module: T): T {
      modules.set(name, module);
      return module;
    },
  } satisfies World & { attachModule: unknown };
  return { world, records, barriers, modules };
}

describe('power: world.power', function () {
  this.timeout(30_000);

  it('reads RAPL on local rank 0 only, streams its records, measures the idle baseline between barriers', async () => {
    const tree = fakePowercap([{ zone: 'intel-rapl:0', name: 'package-0', energyUj: 0, maxEnergyRangeUj: 262_143_328_850 }]);
    try {
      const zero = fakeWorld(0);
      const one = fakeWorld(1);
      const [w0, w1] = await Promise.all([
        attachPower(zero.world, { periodMs: 20, powercapRoot: tree.root, idleBaselineS: 0.1 }),
        attachPower(one.world, { periodMs: 20, powercapRoot: tree.root }),
      ]);
      assert.deepEqual(w0.power.channelInfo().map((c) => c.label), ['package-0@intel-rapl:0', 'process']);
      assert.deepEqual(w1.power.channelInfo().map((c) => c.label), ['process']);
      assert.deepEqual(zero.barriers, ['power-idle-baseline-start', 'power-idle-baseline-end']);
      const { energy } = await w1.power.window('step', async () => {
        const until = Date.now() + 50;
        while (Date.now() < until);
        return 7;
      });
      assert.equal(energy.name, 'step');
      await Promise.all([zero.modules.get('power')!.finalize!(), one.modules.get('power')!.finalize!()]);
      const types = (records: Record<string, unknown>[]) => new Set(records.map((r) => r.type));
      assert.deepEqual([...types(zero.records)].sort(), ['power-channels', 'power-progress', 'power-run', 'power-samples', 'power-window']);
      assert.ok(zero.records.every((r) => r.stream === 'power' && r.rank === 0 && r.host === 'node-a'));
      const summary = energySummary([...zero.records, ...one.records]);
      assert.equal(summary.nodes.length, 1);
      assert.equal(summary.nodes[0].readerRank, 0);
      assert.equal(summary.ranks.length, 2);
      assert.ok(summary.totals.idlePowerW !== undefined, 'the idle baseline reaches the totals');
    } finally {
      tree.remove();
    }
  });

  it('takes the idle baseline from JOULE_IDLE_BASELINE_S and rejects a bad one', () => {
    assert.equal(idleBaselineFromEnv({}), undefined);
    assert.equal(idleBaselineFromEnv({ JOULE_IDLE_BASELINE_S: '5' }), 5);
    assert.throws(() => idleBaselineFromEnv({ JOULE_IDLE_BASELINE_S: 'soon' }), { code: 'JOULE_BAD_ARGUMENT' });
    assert.deepEqual(['5s', '500ms', '2m', '1.5'].map(parseDurationS), [5, 0.5, 120, 1.5]);
    assert.throws(() => parseDurationS('5 hours'), { code: 'JOULE_BAD_ARGUMENT', message: /not a duration/ });
  });
});

describe('joule bench sampler', function () {
  this.timeout(30_000);

  it('reports the sampler thread CPU time per rate as JSON', async () => {
    const result = await joule(['bench', 'sampler', '--rates', '20,50', '--duration', '0.5', '--json']);
    assert.equal(result.code, 0, result.stderr);
    const report = JSON.parse(result.stdout);
    assert.deepEqual(report.rows.map((r: { rateHz: number }) => r.rateHz), [20, 50]);
    for (const row of report.rows) {
      assert.ok(row.ticks > 0 && row.threadCpuTimeS > 0 && row.threadCoreShare > 0 && row.threadCoreShare < 1);
      assert.deepEqual(row.channels, ['process']);
    }
  });

  it('rejects a bad rate with exit code 2', async () => {
    const result = await joule(['bench', 'sampler', '--rates', 'fast']);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /--rates: "fast"/);
  });
});

describe('power: many small windows', function () {
  this.timeout(30_000);

  it('resolves thousands of nested windows, whose energies fit inside their parent\'s', async () => {
    const monitor = await new PowerMonitor({ periodMs: 10 }).start();
    try {
      monitor.begin('loop');
      const ops: Promise<WindowResult>[] = [];
      for (let i = 0; i < 3000; i++) {
        monitor.begin('op');
        for (let x = 0, j = 0; j < 2000; j++) x += Math.sqrt(j);
        ops.push(monitor.end());
      }
      const parent = await monitor.end();
      const results = await Promise.all(ops);
      assert.equal(results.length, 3000);
      const childJ = results.reduce((sum, r) => sum + r.modelEnergyJ!, 0);
      assert.ok(childJ > 0 && childJ <= parent.modelEnergyJ! * (1 + 1e-9), `${childJ} J in ops, ${parent.modelEnergyJ} J in the loop`);
      assert.ok(results.every((r) => r.path === 'loop/op' && r.depth === 1));
      assert.ok(results.filter((r) => r.interpolated).length > 2000, 'most ops fall between two samples');
    } finally {
      await monitor.stop();
    }
  });
});
