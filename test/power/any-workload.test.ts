// Energy of any workload: under `joule launch`, a command that never calls joule.init() still gets its
// node's energy measured by the launcher's node sampler (fake NVML, fake RAPL), or modelled and labelled so;
// a joule.init() workload measures itself and the node sampler's joules are left out, never added.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fakeNvml, joule } from '../helpers/run';
import { assertValidRunDir } from '../helpers/run-schema';
import { fakePowercap } from './powercap';
import { readRun, runGpus } from '../../src/experiments/run-data';

const rankFixture = path.join(__dirname, 'fixtures', 'rank.js');
/** A rank that never joins: 0.3 s of its own CPU time, then exit 0. */
const plainRank = ['-e', 'while (process.cpuUsage().user < 300000);'];
const FAKE_GPU_W = 100;

function records(file: string): Array<Record<string, any>> {
  return fs.readFileSync(file, 'utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line));
}

const gpuJ = (run: Record<string, any>) =>
  run.figures.filter((f: any) => f.kind === 'gpu' && f.source !== 'model').reduce((sum: number, f: any) => sum + f.energyJ, 0);

describe('power: the energy of any workload under joule launch', function () {
  this.timeout(60_000);
  let scratch: string;
  let tree: ReturnType<typeof fakePowercap>;
  let measuring: NodeJS.ProcessEnv;
  beforeEach(() => {
    scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'joule-any-workload-'));
    tree = fakePowercap([{ zone: 'intel-rapl:0', name: 'package-0', energyUj: 1_000, maxEnergyRangeUj: 262_143_328_850 }]);
    // Two GPUs drawing 100 W each (fake NVML) and a RAPL package counter (fake powercap tree).
    measuring = { JOULE_NVML_LIBRARY: fakeNvml, JOULE_FAKE_NVML_GPUS: '2', JOULE_FAKE_NVML_POWER_W: String(FAKE_GPU_W), JOULE_GPU_COUNT: '2', JOULE_POWERCAP_ROOT: tree.root };
  });
  afterEach(() => {
    tree.remove();
    fs.rmSync(scratch, { recursive: true, force: true });
  });

  it('a command that never calls joule.init(): the node sampler measures its GPUs (nvml) and RAPL, split between its ranks', async () => {
    const runDir = path.join(scratch, 'plain');
    const result = await joule(['launch', '-n', '2', '--run-dir', runDir, '--', process.execPath, ...plainRank], measuring);
    assert.equal(result.code, 0, result.stderr);
    const run = JSON.parse(fs.readFileSync(path.join(runDir, 'run.json'), 'utf8'));
    const { energy } = run;
    assert.ok(!fs.existsSync(path.join(runDir, 'power.jsonl')), 'no rank measured itself');
    // The launcher records the GPU it gave each rank, so comparisons count devices, not ranks.
    assert.deepEqual(run.ranks.map((r: any) => [r.rank, r.localRank, r.gpuBinding, r.cudaVisibleDevices, r.gpus]), [[0, 0, 'local-rank', '0', [0]], [1, 1, 'local-rank', '1', [0]]]);
    assert.equal(runGpus(readRun(runDir)), 2);
    assert.ok(energy.nodes[0].ranks.every((r: any) => r.cpuTimeS === null), 'a local rank that never joined has no CPU time of its own: null, not 0');
    const [node] = energy.nodes;
    assert.equal(energy.nodes.length, 1);
    assert.equal(node.measuredBy, 'node');
    assert.deepEqual(node.ranks.map((r: any) => [r.rank, r.measuredBy]), [[0, 'node'], [1, 'node']]);
    assert.deepEqual(Object.keys(node.domains), ['package-0@intel-rapl:0']);
    const sampled = records(path.join(runDir, 'node-power.jsonl')).find((r) => r.type === 'power-run')!;
    assert.deepEqual(sampled.figures.filter((f: any) => f.kind === 'gpu').map((f: any) => [f.device, f.source]), [['gpu0', 'nvml-counter'], ['gpu1', 'nvml-counter']]);
    // Two GPUs at a constant 100 W for the sampler's whole window.
    const expected = 2 * FAKE_GPU_W * sampled.durationS;
    assert.ok(Math.abs(energy.totals.sources['nvml-counter'] - expected) <= 0.02 * expected, `${energy.totals.sources['nvml-counter']} J vs ${expected} J`);
    assert.equal(energy.totals.measuredJ, node.energyJ);
    const shares = node.ranks.reduce((sum: number, r: any) => sum + r.energyJ, 0);
    assert.ok(Math.abs(shares - node.energyJ) <= 1e-9 * node.energyJ, 'the ranks\' shares add up to the node');
    assert.equal(energy.totals.modelJ, 0, 'a RAPL package counter measures the CPU: nothing modelled');
    // Its timeline too: joule trace reads the node sampler's records when no rank wrote power.jsonl.
    const traced = await joule(['trace', runDir, '--out=-']);
    assert.equal(traced.code, 0, traced.stderr);
    const counters = new Set(JSON.parse(traced.stdout).traceEvents.filter((e: any) => e.ph === 'C').map((e: any) => e.name));
    for (const track of ['power gpu0 (W)', 'power gpu1 (W)']) assert.ok(counters.has(track), `${track} in ${[...counters]}`);
    assertValidRunDir(runDir);
  });

  it('with neither NVML nor RAPL: the model, labelled, from the ranks\' CPU time, never called measured', async () => {
    const runDir = path.join(scratch, 'model');
    const result = await joule(['launch', '-n', '2', '--run-dir', runDir, '--', process.execPath, ...plainRank]);
    assert.equal(result.code, 0, result.stderr);
    const { energy } = JSON.parse(fs.readFileSync(path.join(runDir, 'run.json'), 'utf8'));
    assert.equal(energy.nodes[0].measuredBy, 'node');
    assert.equal(energy.totals.measuredJ, 0);
    const cpu = records(path.join(runDir, 'node-power.jsonl')).find((r) => r.type === 'node-ranks-cpu')!;
    assert.ok(cpu.ranksCpuTimeS >= 0.6, `two ranks of at least 0.3 s CPU each: ${cpu.ranksCpuTimeS} s`);
    // The local profile's 10 W per core.
    assert.ok(Math.abs(energy.totals.modelJ - cpu.ranksCpuTimeS * 10) < 1e-9, `${energy.totals.modelJ} J`);
    assert.deepEqual(Object.keys(energy.totals.sources), ['model']);
    assertValidRunDir(runDir);
  });

  it('a joule.init() workload measures itself: the node sampler ran but its joules are not added (same total, not double)', async () => {
    const runDir = path.join(scratch, 'joined');
    const result = await joule(['launch', '-n', '2', '--run-dir', runDir, '--', process.execPath, rankFixture], measuring);
    assert.equal(result.code, 0, result.stderr);
    const { energy } = JSON.parse(fs.readFileSync(path.join(runDir, 'run.json'), 'utf8'));
    assert.equal(energy.nodes[0].measuredBy, 'ranks');
    const rankRuns = records(path.join(runDir, 'power.jsonl')).filter((r) => r.type === 'power-run');
    assert.equal(rankRuns.length, 2);
    // Each rank measured its own GPU (NVML numbers them node-wide, whatever CUDA_VISIBLE_DEVICES shows the rank).
    assert.deepEqual(rankRuns.sort((a, b) => a.rank - b.rank).map((r) => r.figures.filter((f: any) => f.kind === 'gpu').map((f: any) => f.device)), [['gpu0'], ['gpu1']]);
    const nodeRun = records(path.join(runDir, 'node-power.jsonl')).find((r) => r.type === 'power-run')!;
    assert.ok(gpuJ(nodeRun) > 0, 'the node sampler measured too');
    const ranksJ = rankRuns.reduce((sum, r) => sum + gpuJ(r), 0);
    assert.ok(Math.abs(energy.totals.sources['nvml-counter'] - ranksJ) <= 1e-9 * ranksJ, 'the total is what the ranks measured');
    // Double counting would put about 4 × 100 W over the run; one count is 2 × 100 W over the ranks' windows.
    const longestS = Math.max(...rankRuns.map((r) => r.durationS));
    assert.ok(energy.totals.sources['nvml-counter'] <= 2 * FAKE_GPU_W * longestS * 1.02, `${energy.totals.sources['nvml-counter']} J in ${longestS} s`);
    assertValidRunDir(runDir);
  });
});
