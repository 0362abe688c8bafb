// The power views of a command that never calls joule.init(): runPower gives the node sampler's samples
// (and only the ranks' for a joule.init() run), so joule report draws them, joule estimate measures the
// same energy as run.json and joule compare shows both runs' energies with who measured them.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import { chooseRecords, channelSamples, runPower } from '../../src/power/run-samples';
import { chromiumPath, visit } from '../experiments/browser';
import { fakeNvml, joule, jouleBin, run } from '../helpers/run';
import { useSlurmCluster } from '../helpers/slurm-cluster';
import { skipBecause } from '../helpers/skip';
import { fakePowercap } from './powercap';

const FAKE_GPU_W = 100;
/** 1.5 s of busy work in each rank, no joule.init(). */
const busy = ['-e', 'const t = Date.now(); while (Date.now() - t < 1500);'];
const joinedRank = path.join(__dirname, 'fixtures', 'rank.js');

const runJson = (dir: string) => JSON.parse(fs.readFileSync(path.join(dir, 'run.json'), 'utf8'));

describe('power: the views of a run measured by the node sampler (report, estimate, compare, trace)', function () {
  this.timeout(180_000);
  let scratch = '';
  let tree: ReturnType<typeof fakePowercap>;
  let plain = '';
  let joined = '';
  before(async () => {
    scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'joule-any-views-'));
    // Two fake NVML GPUs at 100 W; a fake RAPL tree pinned so a RAPL node's own counters stay out.
    tree = fakePowercap([{ zone: 'intel-rapl:0', name: 'package-0', energyUj: 1_000, maxEnergyRangeUj: 262_143_328_850 }]);
    const env = { JOULE_NVML_LIBRARY: fakeNvml, JOULE_FAKE_NVML_GPUS: '2', JOULE_FAKE_NVML_POWER_W: String(FAKE_GPU_W), JOULE_GPU_COUNT: '2', JOULE_POWERCAP_ROOT: tree.root };
    plain = path.join(scratch, 'plain');
    joined = path.join(scratch, 'joined');
    for (const [dir, command] of [[plain, busy], [joined, [joinedRank]]] as const) {
      const result = await joule(['launch', '-n', '2', '--run-dir', dir, '--', process.execPath, ...command], env);
      assert.equal(result.code, 0, result.stderr);
    }
  });
  after(() => {
    tree?.remove();
    fs.rmSync(scratch, { recursive: true, force: true });
  });

  it('runPower: the node sampler\'s GPU samples for a command that never joined, only the ranks\' for one that did', () => {
    const sampled = runPower(plain);
    assert.deepEqual(sampled.nodes.map((n) => n.measuredBy), ['node']);
    assert.deepEqual(sampled.files, [path.join(plain, 'node-power.jsonl')]);
    const gpus = sampled.channels.filter((c) => c.kind === 'gpu');
    assert.deepEqual(gpus.map((c) => [c.label, c.source, c.measuredBy]), [['gpu0', 'nvml', 'node'], ['gpu1', 'nvml', 'node']]);
    assert.ok(gpus.every((c) => c.timesS.length > 3), 'several readings per GPU');
    assert.ok(!sampled.channels.some((c) => c.kind === 'process'), 'the sampler\'s own CPU time is not the workload\'s');
    // The joined run's node sampler ran too (its file is there), but the ranks measured the node: its samples are left out.
    assert.ok(fs.existsSync(path.join(joined, 'node-power.jsonl')));
    const ranks = runPower(joined);
    assert.deepEqual(ranks.nodes.map((n) => n.measuredBy), ['ranks']);
    assert.ok(ranks.channels.length > 0 && ranks.channels.every((c) => c.measuredBy === 'ranks'));
    assert.ok(!ranks.records.some((r) => r.sampler === 'node'), 'no node sampler record beside the ranks\' own');
    assert.deepEqual(ranks.channels.filter((c) => c.kind === 'gpu').map((c) => [c.rank, c.label]).sort(), [[0, 'gpu0'], [1, 'gpu1']]);
  });

  it('joule trace: the node sampler\'s track for the command that never joined, only the ranks\' for the one that did', async () => {
    const tracks = async (dir: string) => {
      const result = await joule(['trace', dir, '--out=-']);
      assert.equal(result.code, 0, result.stderr);
      const events = JSON.parse(result.stdout).traceEvents as { ph: string; name: string; args?: { name?: string } }[];
      return { processes: events.filter((e) => e.name === 'process_name').map((e) => e.args!.name!.replace(/ \(.*\)$/, '')).sort(), counters: new Set(events.filter((e) => e.ph === 'C').map((e) => e.name)) };
    };
    const sampled = await tracks(plain);
    assert.deepEqual(sampled.processes, ['node sampler']);
    assert.ok(sampled.counters.has('power gpu0 (W)') && sampled.counters.has('power gpu1 (W)'), [...sampled.counters].join(', '));
    assert.deepEqual((await tracks(joined)).processes, ['rank 0', 'rank 1']);
  });

  it('two nodes, one measured by its ranks and one by its node sampler: each node\'s samples from one source only', () => {
    const channels = (host: string, rank: number, extra: Record<string, unknown> = {}) => ({ type: 'power-channels', rank, host, clock: { monotonicS: 100, epochMs: 1_000_000 }, channels: [{ kind: 'gpu', label: 'gpu0' }], ...extra });
    const samples = (host: string, rank: number, extra: Record<string, unknown> = {}) => ({ type: 'power-samples', rank, host, fields: ['timeS', 'channel', 'energyJ', 'powerW'], rows: [[100, 0, 0, 50], [101, 0, 50, 50]], ...extra });
    // Node a: rank 0 measured itself (its power-run); node b: rank 1 never joined. Both nodes' samplers ran.
    const rankRecords = [channels('a', 0), samples('a', 0), { type: 'power-run', rank: 0, host: 'a' }];
    const node = { sampler: 'node' };
    const nodeRecords = [channels('a', 0, node), samples('a', 0, node), channels('b', 1, node), samples('b', 1, node), { type: 'node-ranks-cpu', ranksCpuTimeS: 1 }];
    const chosen = chooseRecords(rankRecords, nodeRecords);
    assert.deepEqual(chosen.nodes, [{ host: 'a', measuredBy: 'ranks' }, { host: 'b', measuredBy: 'node' }]);
    assert.ok(!chosen.records.some((r) => r.host === 'a' && r.sampler === 'node'), 'node a\'s sampler is left out');
    const { channels: got } = channelSamples(chosen.records);
    assert.deepEqual(got.map((c) => [c.host, c.rank, c.measuredBy, c.timesS.length]), [['a', 0, 'ranks', 2], ['b', 1, 'node', 2]]);
    // Until a rank of node a ends or reports progress, its node sampler stands for it (as in run.json's energy).
    assert.deepEqual(chooseRecords(rankRecords.slice(0, 2), nodeRecords).nodes.map((n) => n.measuredBy), ['node', 'node']);
  });

  it('joule report draws the node sampler\'s nvml power per GPU', async function () {
    const out = path.join(scratch, 'plain.html');
    const result = await joule(['report', plain, '--out', out, '--json']);
    assert.equal(result.code, 0, result.stderr);
    const html = fs.readFileSync(out, 'utf8');
    const csv = Buffer.from(/download="power-over-time\.csv" href="data:text\/csv;base64,([^"]+)"/.exec(html)![1], 'base64').toString();
    const rows = (parse(csv, { columns: true }) as Record<string, string>[]).filter((r) => r.kind === 'power');
    const domains = [...new Set(rows.filter((r) => r.source === 'nvml').map((r) => r.domain))].sort();
    assert.equal(domains.length, 2, `two GPU lines: ${domains}`);
    for (const domain of domains) assert.match(domain, /gpu[01] \(node sampler\)$/);
    // Differentiated counters give back the fake GPUs' constant 100 W.
    for (const row of rows.filter((r) => r.source === 'nvml')) assert.ok(Math.abs(Number(row.powerW) - FAKE_GPU_W) < 2, JSON.stringify(row));
    if (!chromiumPath()) return skipBecause(this, 'chromium is not installed (bash .ci/install-debian-packages.sh installs it)');
    const page = await visit<{ paths: number; texts: string[] }>(
      out,
      `(() => { const svg = document.querySelector('figure#power-over-time svg'); return { paths: svg ? [...svg.querySelectorAll('path')].filter((p) => (p.getAttribute('d') || '').length > 2 && p.getBBox().width > 0).length : 0, texts: svg ? [...svg.querySelectorAll('text')].map((t) => t.textContent) : [] }; })()`,
    );
    assert.deepEqual(page.errors, []);
    assert.ok(page.probed.paths > 0, 'the power chart drew its lines');
    assert.ok(page.probed.texts.includes('nvml'), `the nvml source in the legend: ${page.probed.texts.join('|')}`);
    // Legend labels may be cut short (Vega's label limit); their start names the GPU.
    for (const gpu of ['gpu0', 'gpu1']) assert.ok(page.probed.texts.some((t) => (t ?? '').includes(` ${gpu} (node`)), `${gpu}'s line in the legend: ${page.probed.texts.join('|')}`);
  });

  it('joule estimate --validate measures from the node sampler\'s samples what run.json says (within 2 %), no model in it', async () => {
    const result = await joule(['estimate', '--validate', plain, '--json']);
    assert.equal(result.code, 0, result.stderr);
    const [projection] = JSON.parse(result.stdout).projections;
    const recorded = runJson(plain).energy.totals.measuredJ;
    assert.ok(recorded > 0);
    assert.ok(Math.abs(projection.measured.energyJ - recorded) <= 0.02 * recorded, `${projection.measured.energyJ} J vs run.json's ${recorded} J`);
    // The pinned RAPL counter stands still: 0 J, but measured, so named.
    assert.equal(projection.measured.source, 'nvml+rapl');
    assert.deepEqual(Object.keys(projection.measured.traceBySource).sort(), ['nvml', 'rapl'], 'no model figure in what was measured');
  });

  it('joule compare: both runs\' energies with their sources, and who measured each', async () => {
    const result = await joule(['compare', plain, joined, '--json']);
    assert.equal(result.code, 0, result.stderr);
    const table = JSON.parse(result.stdout);
    const energy = table.figures.find((f: { key: string }) => f.key === 'energyJ').values;
    assert.deepEqual(energy, [plain, joined].map((dir) => runJson(dir).energy.totals.measuredJ));
    assert.ok(energy.every((j: number) => j > 0), `${energy}`);
    assert.deepEqual(table.energySources, ['nvml-counter+rapl', 'nvml-counter+rapl']);
    const who = table.differences.find((d: { field: string }) => d.field === 'energy measured by');
    assert.deepEqual(who?.values, ['node sampler', 'ranks']);
  });
});

describe('power: the views of a run measured by two nodes\' samplers (private two-node SLURM)', function () {
  this.timeout(120_000);
  const cluster = useSlurmCluster();

  it('salloc -N2: runPower gives each node\'s sampler\'s GPUs, and joule estimate measures run.json\'s energy from them', async () => {
    const { env, dir } = cluster();
    const runDir = fs.mkdtempSync(path.join(os.tmpdir(), 'joule-any-views-srun-'));
    try {
      const gpus = { JOULE_NVML_LIBRARY: fakeNvml, JOULE_FAKE_NVML_GPUS: '2', JOULE_FAKE_NVML_POWER_W: String(FAKE_GPU_W), JOULE_GPU_COUNT: '2', JOULE_POWERCAP_ROOT: '/nonexistent' };
      const result = await run('salloc', ['-N2', '-n4', process.execPath, jouleBin, 'launch', '--run-dir', runDir, '--', process.execPath, ...busy], { env: { ...env, ...gpus }, cwd: dir, timeoutMs: 60_000 });
      assert.equal(result.code, 0, result.stderr);
      const power = runPower(runDir);
      assert.deepEqual(power.nodes, [{ host: 'n1', measuredBy: 'node' }, { host: 'n2', measuredBy: 'node' }]);
      assert.deepEqual(power.channels.filter((c) => c.kind === 'gpu').map((c) => `${c.host} ${c.label} ${c.source}`).sort(), ['n1 gpu0 nvml', 'n1 gpu1 nvml', 'n2 gpu0 nvml', 'n2 gpu1 nvml']);
      const estimated = await joule(['estimate', '--trace', runDir, '--json']);
      assert.equal(estimated.code, 0, estimated.stderr);
      const { measured } = JSON.parse(estimated.stdout);
      const recorded = runJson(runDir).energy.totals.measuredJ;
      assert.ok(Math.abs(measured.energyJ - recorded) <= 0.02 * recorded, `${measured.energyJ} J vs run.json's ${recorded} J`);
    } finally {
      fs.rmSync(runDir, { recursive: true, force: true });
    }
  });
});
