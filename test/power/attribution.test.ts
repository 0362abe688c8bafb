// Attribution: node-level RAPL energy split between a node's ranks by CPU time, GPUs to their owners.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { attribute } from '../../src/power/attribution';
import { defaultEnergyProfile, loadEnergyProfile } from '../../src/power/profile';
import { energySummary, readRecords } from '../../src/power/records';
import type { EnergyFigure, WindowResult } from '../../src/power/types';
import { fakeNvml, joule } from '../helpers/run';
import type { Step } from './fixtures/measure';
import { measure } from './fixtures/run-fixture';
import { fakePowercap } from './powercap';

function figure(device: string, source: EnergyFigure['source'], energyJ: number, nodeLevel = false): EnergyFigure {
  return {
    device, kind: device.startsWith('gpu') ? 'gpu' : 'cpu', source, energyJ, coverage: 1, meanPowerW: energyJ / 10,
    peakPowerW: null, wraps: 0, resets: 0, errors: {}, interpolated: false, nodeLevel,
  };
}

function window(cpuTimeS: number, figures: EnergyFigure[]): WindowResult {
  return {
    name: 'run', path: 'run', depth: 0, startS: 0, endS: 10, durationS: 10, energyJ: null, modelEnergyJ: null, bySource: {},
    meanPowerW: 0, peakPowerW: null, cpuTimeS, interpolated: false, coverage: 1, figures,
  };
}

describe('power: attribution', function () {
  this.timeout(60_000);

  it('splits node-level energy by CPU time, keeps GPUs with their owners, and drops the CPU model where RAPL measured', () => {
    const profile = { ...defaultEnergyProfile, pue: 1.5, carbonGPerKWh: 400 };
    const result = attribute(
      [
        { rank: 0, localRank: 0, host: 'a', run: window(3, [figure('gpu0', 'nvml-counter', 1000), figure('package-0@intel-rapl:0', 'rapl', 600, true), figure('dram@intel-rapl:0:0', 'rapl', 200, true)]) },
        { rank: 1, localRank: 1, host: 'a', run: window(1, [figure('gpu1', 'nvml-power', 500), figure('cpu', 'model', 40)]) },
        // A node without RAPL: its CPU model stays, labelled as model.
        { rank: 2, localRank: 0, host: 'b', run: window(2, [figure('gpu0', 'nvml-counter', 700), figure('cpu', 'model', 30)]), idle: { ...window(0, []), energyJ: 500, meanPowerW: 50 } },
      ],
      profile,
    );
    const [a, b] = result.nodes;
    assert.equal(a.nodeLevelJ, 800);
    assert.equal(a.readerRank, 0);
    assert.deepEqual(a.ranks.map((r) => [r.rank, r.cpuShare, r.nodeShareJ, r.gpuJ, r.energyJ, r.modelEnergyJ]), [
      [0, 0.75, 600, 1000, 1600, 0],
      [1, 0.25, 200, 500, 700, 0],
    ]);
    assert.equal(a.energyJ, a.ranks.reduce((sum, r) => sum + r.energyJ, 0));
    assert.equal(b.modelEnergyJ, 30);
    assert.equal(result.totals.measuredJ, 3000);
    assert.equal(result.totals.modelJ, 30);
    assert.deepEqual(result.totals.sources, { 'nvml-counter': 1700, 'nvml-power': 500, rapl: 800, model: 30 });
    // energyJ, kWh, facility and CO2e are measured only, as at node and rank level; the model's part apart.
    assert.equal(result.totals.energyJ, 3000);
    assert.equal(result.totals.energyJ, result.nodes.reduce((sum, n) => sum + n.energyJ, 0));
    assert.equal(result.totals.kWh, 3000 / 3.6e6);
    assert.equal(result.totals.facilityEnergyJ, 3000 * 1.5);
    assert.ok(Math.abs(result.totals.co2eG - (3000 / 3.6e6) * 1.5 * 400) < 1e-12);
    assert.deepEqual(result.totals.model, { energyJ: 30, kWh: 30 / 3.6e6, facilityEnergyJ: 45, co2eG: (30 / 3.6e6) * 1.5 * 400 });
    assert.equal(result.totals.gpuHours, (3 * 10) / 3600);
    assert.equal(result.totals.idleSource, 'measured');
    assert.equal(result.totals.staticJ, 500);
    assert.equal(result.totals.dynamicJ, 3000 - 500);
  });

  it('labels an idle baseline that only the model gave, and splits the model total with it, never the measured one', () => {
    const result = attribute([{ rank: 0, localRank: 0, host: 'a', run: window(1, [figure('cpu', 'model', 300)]), idle: { ...window(0, []), modelEnergyJ: 100, meanPowerW: 10 } }], defaultEnergyProfile);
    assert.equal(result.totals.energyJ, 0);
    assert.equal(result.totals.idleSource, 'model');
    assert.equal(result.totals.staticJ, 100);
    assert.equal(result.totals.dynamicJ, 300 - 100);
  });

  it('two ranks on a node with the fakes: the node total is the sum of the shares', async () => {
    const tree = fakePowercap([
      { zone: 'intel-rapl:0', name: 'package-0', energyUj: 0, maxEnergyRangeUj: 262_143_328_850, maxPowerUw: 200_000_000 },
      { zone: 'intel-rapl:0/intel-rapl:0:0', name: 'dram', energyUj: 0, maxEnergyRangeUj: 65_712_999_613 },
    ]);
    const runDir = fs.mkdtempSync(path.join(os.tmpdir(), 'joule-run-'));
    try {
      const env = { JOULE_NVML_LIBRARY: fakeNvml };
      const write = (uj: number): Step => ({ op: 'write', file: tree.energyFile('intel-rapl:0'), text: `${uj}\n` });
      const rank0 = measure({
        monitor: { periodMs: 20, gpus: [0], rapl: true, powercapRoot: tree.root, sinkDir: runDir, identity: { rank: 0, localRank: 0, host: 'node-a' } },
        steps: [{ op: 'begin', name: 'step' }, { op: 'burn', ms: 100 }, write(2_000_000), { op: 'sleep', ms: 200 }, write(5_000_000), { op: 'sleep', ms: 200 }, { op: 'end' }],
      }, env);
      const rank1 = measure({
        monitor: { periodMs: 20, gpus: [1], sinkDir: runDir, identity: { rank: 1, localRank: 1, host: 'node-a' } },
        steps: [{ op: 'begin', name: 'step' }, { op: 'burn', ms: 300 }, { op: 'end' }],
      }, env);
      await Promise.all([rank0, rank1]);

      const records = readRecords(path.join(runDir, 'power.jsonl'));
      const summary = energySummary(records);
      const [node] = summary.nodes;
      assert.equal(summary.nodes.length, 1);
      assert.equal(node.readerRank, 0);
      assert.ok(Math.abs(node.nodeLevelJ - 5) < 1e-9, `package energy ${node.nodeLevelJ} J`);
      const shares = node.ranks.reduce((sum, r) => sum + r.energyJ, 0);
      assert.ok(Math.abs(node.energyJ - shares) < 1e-9 * node.energyJ, `${node.energyJ} J vs shares ${shares} J`);
      assert.ok(Math.abs(node.ranks[0].nodeShareJ + node.ranks[1].nodeShareJ - node.nodeLevelJ) < 1e-9);
      assert.ok(node.ranks[1].cpuShare > 0 && node.ranks[1].cpuShare < 1);
      assert.deepEqual(node.ranks.map((r) => r.overrunSamples), [0, 0]);
      assert.ok(node.ranks.every((r) => r.coverage > 0.9), 'the whole run lies between readings');
      for (const rank of node.ranks) {
        assert.equal(rank.gpus, 1);
        assert.ok(Math.abs(rank.gpuJ - 100 * rank.durationS) < 0.005 * rank.gpuJ, `fake GPUs draw 100 W: ${rank.gpuJ} J in ${rank.durationS} s`);
        assert.equal(rank.modelEnergyJ, 0, 'the node has a RAPL package counter');
      }

      // The trace shows each rank's power counters and windows.
      const traced = await joule(['trace', runDir, '--json']);
      assert.equal(traced.code, 0, traced.stderr);
      const report = JSON.parse(traced.stdout);
      const trace = JSON.parse(fs.readFileSync(report.out, 'utf8'));
      const names = new Set(trace.traceEvents.map((e: { pid: number; name: string }) => `${e.pid} ${e.name}`));
      for (const name of ['0 power gpu0 (W)', '1 power gpu1 (W)', '0 power package-0@intel-rapl:0 (W)', '0 step', '1 step']) {
        assert.ok(names.has(name), `${name} missing from the trace`);
      }
      const step = trace.traceEvents.find((e: { ph: string; pid: number }) => e.ph === 'X' && e.pid === 0);
      assert.ok(step.dur > 400_000 && step.args.energyJ > 0);

      // A record torn by a crash does not stop the reader.
      fs.appendFileSync(path.join(runDir, 'power.jsonl'), '{"type":"power-samples","rows":[[1,');
      assert.equal(readRecords(path.join(runDir, 'power.jsonl')).length, records.length);
    } finally {
      tree.remove();
      fs.rmSync(runDir, { recursive: true, force: true });
    }
  });

  it('takes TDPs, PUE and carbon intensity from a cluster profile, and says which figure it assumed', () => {
    const local = loadEnergyProfile('local');
    assert.equal(local.name, 'local');
    assert.equal(local.cpuTdpPerCoreW, 10);
    assert.equal(local.pue, 1);
    assert.equal(local.carbonGPerKWh, 480);
    assert.match(local.source!, /gpuTdpW not in the profile: 400 W assumed/);
  });

  it('joule trace rejects a folder without power records with exit code 2', async () => {
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'joule-run-'));
    try {
      const result = await joule(['trace', empty]);
      assert.equal(result.code, 2);
      assert.match(result.stderr, /no power records in .* \[JOULE_BAD_ARGUMENT\]/);
    } finally {
      fs.rmSync(empty, { recursive: true, force: true });
    }
  });
});
