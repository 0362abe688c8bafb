// Power in a launched job: every rank measures, RAPL once per node, run.json gets the attributed energy.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { joule } from '../helpers/run';
import { fakePowercap } from './powercap';
import { assertValidRunDir } from '../helpers/run-schema';

const rank = path.join(__dirname, 'fixtures', 'rank.js');

describe('power: joule launch', function () {
  this.timeout(60_000);

  it('records each rank\'s windows, reads RAPL on local rank 0 only and puts node totals and shares in run.json', async () => {
    const tree = fakePowercap([{ zone: 'intel-rapl:0', name: 'package-0', energyUj: 1_000, maxEnergyRangeUj: 262_143_328_850 }]);
    const runDir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'joule-launch-power-')), 'run');
    try {
      const result = await joule(['launch', '-n', '2', '--run-dir', runDir, '--idle-baseline', '200ms', '--json', '--', process.execPath, rank], {
        JOULE_POWERCAP_ROOT: tree.root,
        TEST_RAPL_COUNTER: tree.energyFile('intel-rapl:0'),
      });
      assert.equal(result.code, 0, result.stderr);
      const run = JSON.parse(fs.readFileSync(path.join(runDir, 'run.json'), 'utf8'));
      assert.ok(run.streams.includes('power.jsonl'));
      const energy = run.energy;
      assert.equal(energy.nodes.length, 1);
      const [node] = energy.nodes;
      assert.equal(node.readerRank, 0, 'local rank 0 reads the node counters');
      assert.deepEqual(Object.keys(node.domains), ['package-0@intel-rapl:0']);
      assert.deepEqual(node.ranks.map((r: { rank: number }) => r.rank), [0, 1]);
      const shares = node.ranks.reduce((sum: number, r: { energyJ: number }) => sum + r.energyJ, 0);
      assert.ok(Math.abs(shares - node.energyJ) <= 1e-9 * Math.max(1, node.energyJ));
      const cpuShares = node.ranks.map((r: { cpuShare: number }) => r.cpuShare);
      assert.ok(Math.abs(cpuShares[0] + cpuShares[1] - 1) < 1e-12);
      assert.ok(cpuShares[1] > cpuShares[0], `rank 1 computed four times as long: ${cpuShares}`);
      assert.equal(energy.totals.profile, 'local');
      assert.equal(energy.totals.modelJ, 0, 'the node has a RAPL package counter, so nothing is modelled');
      assert.ok(energy.totals.idlePowerW !== undefined && energy.totals.staticJ !== undefined);
      assert.ok(Math.abs(node.nodeLevelJ - 5) < 1e-9, `the counter moved by 5 J: ${node.nodeLevelJ}`);
      assert.ok(Math.abs(energy.totals.measuredJ - 5) < 1e-9);
      assert.equal(energy.totals.sources.rapl, node.nodeLevelJ);
      const lines = result.stderr.split('\n').filter((l) => l.includes('"step"'));
      assert.equal(lines.length, 2, result.stderr);

      const traced = await joule(['trace', runDir, '--out=-']);
      assert.equal(traced.code, 0, traced.stderr);
      const trace = JSON.parse(traced.stdout);
      const spans = trace.traceEvents.filter((e: { ph: string }) => e.ph === 'X').map((e: { pid: number; name: string }) => `${e.pid}:${e.name}`);
      for (const span of ['0:step', '0:compute', '1:step', '1:compute', '0:idle-baseline']) assert.ok(spans.includes(span), `${span} in ${spans}`);
      assertValidRunDir(runDir);
    } finally {
      tree.remove();
      fs.rmSync(path.dirname(runDir), { recursive: true, force: true });
    }
  });

  it('rejects a bad --idle-baseline with exit code 2', async () => {
    const result = await joule(['launch', '-n', '1', '--idle-baseline', 'soon', '--', process.execPath, rank]);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /"soon" is not a duration/);
  });
});
