// joule report: one self-contained HTML file for a run (real, fake NVML GPUs), a sweep (fixtures with known figures) and a comparison, opened in headless Chromium: charts drawn, axis titles present, no console error, a screenshot.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import { fakeNvml, joule, jouleBin } from '../helpers/run';
import { skipBecause } from '../helpers/skip';
import { scriptedPower } from '../estimate/synthetic';
import { writeSmiLog } from '../helpers/nvidia-smi';
import { chromiumPath, visit } from './browser';
import { writeFixtureSweep, writeLbsPrecisionSweep } from './fixtures';

interface Drawn {
  charts: { id: string; paths: number; width: number; texts: string[]; bands: string[] }[];
  figcaptions: string[];
  scripts: number;
}

// Every chart (figure > svg): its drawn paths (non-empty d, non-zero box) and its texts (axis titles, labels).
const PROBE = `({
  charts: [...document.querySelectorAll('figure')].map((f) => {
    const svg = f.querySelector('svg');
    const paths = svg ? [...svg.querySelectorAll('path')].filter((p) => (p.getAttribute('d') || '').length > 2 && p.getBBox().width + p.getBBox().height > 0) : [];
    // Rect marks and bars drawn with an area: their data labels (collective and phase bands) or descriptions.
    const bands = svg ? [...svg.querySelectorAll('path[aria-roledescription="rect mark"], path[aria-roledescription="bar"]')].filter((p) => p.getBBox().width > 0 && p.getBBox().height > 0).map((p) => /label: ([^;]*)$/.exec(p.getAttribute('aria-label') || '')?.[1] || p.getAttribute('aria-label') || '') : [];
    return { id: f.id, paths: paths.length, width: svg ? svg.getBoundingClientRect().width : 0, texts: svg ? [...svg.querySelectorAll('text')].map((t) => t.textContent) : [], bands };
  }),
  figcaptions: [...document.querySelectorAll('figcaption')].map((c) => c.textContent),
  scripts: document.querySelectorAll('script').length,
})`;

/** A table of the report by its caption: its body's cells as text. */
function tableCells(html: string, caption: string): string[][] {
  const table = new RegExp(`<caption>${caption}</caption>.*?<tbody>(.*?)</tbody>`).exec(html)![1];
  return [...table.matchAll(/<tr>(.*?)<\/tr>/g)].map(([, row]) => [...row.matchAll(/<td>(.*?)<\/td>/g)].map(([, cell]) => cell));
}

/** Equal to 4 significant digits, as the report rounds its figures. */
function assertRounded(shown: string | number, exact: number, what: string): void {
  assert.ok(Math.abs(Number(shown) - exact) <= 5e-4 * Math.abs(exact) + 1e-12, `${what}: ${shown} in the report, ${exact} in the record`);
}

const burn = "const j=require(process.env.JOULE_PACKAGE);(async()=>{const w=await j.init();const t=Date.now();while(Date.now()-t<600){} await w.barrier('b');await w.finalize();})()";

/** A chart's CSV download, parsed into rows by its header. */
function chartCsv(html: string, id: string): Record<string, string>[] {
  const csv = Buffer.from(new RegExp(`download="${id}\\.csv" href="data:text/csv;base64,([^"]+)"`).exec(html)![1], 'base64').toString();
  return parse(csv, { columns: true }) as Record<string, string>[];
}

describe('joule report (HTML, opened in headless Chromium)', function () {
  this.timeout(180_000);
  let dir = '';
  const shots: string[] = [];
  before(async function () {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'joule-report-'));
    // Two real runs on two fake NVML GPUs (120 W and 90 W), so power per domain and the energy source are real records.
    for (const [name, watts] of [['gpu-run', '120'], ['gpu-run-b', '90']]) {
      const result = await joule(['launch', '-n', '2', '--run-dir', path.join(dir, name), '--', process.execPath, '-e', burn], { JOULE_NVML_LIBRARY: fakeNvml, JOULE_GPU_COUNT: '2', JOULE_FAKE_NVML_POWER_W: watts, JOULE_PACKAGE: path.resolve(__dirname, '../..') });
      assert.equal(result.code, 0, result.stderr);
    }
    // A real collective benchmark inside a launched run: its power windows are the collectives the chart marks.
    const bench = await joule(['launch', '-n', '2', '--run-dir', path.join(dir, 'bench-run'), '--', process.execPath, jouleBin, 'bench', 'allreduce', '-b', '1M', '-e', '4M', '-f', '2', '-n', '20'], { JOULE_NVML_LIBRARY: fakeNvml, JOULE_GPU_COUNT: '2', JOULE_FAKE_NVML_POWER_W: '100' });
    assert.equal(bench.code, 0, bench.stderr);
    // Real training runs, a 2-stage pipeline and 2 data-parallel ranks, pinned to the model's energy (no NVML, an empty powercap tree) on any machine.
    const noPowercap = path.join(dir, 'no-powercap');
    fs.mkdirSync(noPowercap);
    const pinned = { JOULE_NVML_LIBRARY: path.join(dir, 'no-nvml.so'), JOULE_POWERCAP_ROOT: noPowercap, JOULE_TEST_DIVERGE: '', JOULE_TEST_STAGE_EXIT: '' };
    const small = ['--model', 'mlp', '--dataset', 'synthetic-images', '--train-size', '256', '--test-size', '64', '--lbs', '8', '--max-steps', '6', '--json'];
    for (const [name, layout] of [['pp-run', ['--strategy', 'pp', '--stages', '2', '--micro-batches', '4']], ['dp-run', ['-n', '2']]] as [string, string[]][]) {
      const trained = await joule(['train', ...layout, ...small, '--run-dir', path.join(dir, name)], pinned, { timeoutMs: 120_000 });
      assert.equal(trained.code, 0, trained.stderr);
    }
    writeLbsPrecisionSweep(path.join(dir, 'lbs-precision'));
    writeFixtureSweep(path.join(dir, 'precision-strategy'), { precision: ['fp32', 'bf16'], strategy: ['dp', 'pp'] }, [
      ['fp32', 'dp', 640], ['bf16', 'dp', 480], ['fp32', 'pp', 960], ['bf16', 'pp', 800],
    ].map(([precision, strategy, energyJ]) => ({ params: { precision, strategy }, runs: [{ energyJ: Number(energyJ), durationS: Number(energyJ) / 64, accuracy: 0.9 }] })));
    // energy = 720 kJ per device-hour exactly: the fit must find k = 720000 and R² = 1.
    writeFixtureSweep(path.join(dir, 'scaling'), { gpus: [1, 2, 4] }, [1, 2, 4].map((gpus, i) => {
      const durationS = [100, 52, 27][i];
      return { params: { gpus }, runs: [{ energyJ: 200 * gpus * durationS, durationS, accuracy: 0.9 }] };
    }));
  });
  after(() => {
    process.stderr.write(`  screenshots: ${shots.join(', ')}\n`);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  async function report(name: string, args: string[]): Promise<{ html: string; drawn: Drawn }> {
    const out = path.join(dir, `${name}.html`);
    const result = await joule(['report', ...args.map((a) => (a.startsWith('-') || path.isAbsolute(a) || /^\d+$/.test(a) ? a : path.join(dir, a))), '--out', out, '--json']);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(JSON.parse(result.stdout).file, out);
    const html = fs.readFileSync(out, 'utf8');
    // Self-contained: no script, nothing loaded from elsewhere (the only URLs are SVG namespaces).
    assert.doesNotMatch(html, /<script/i);
    assert.doesNotMatch(html, /\b(src|href)="(?!data:)/);
    assert.equal((fs.statSync(out).mode & 0o002), 0, 'the report is not world-writable');
    if (!chromiumPath()) return { html, drawn: null as unknown as Drawn };
    const page = await visit<Drawn>(out, PROBE);
    assert.deepEqual(page.errors, [], `console errors in ${name}.html`);
    assert.deepEqual(page.screenshotPng.subarray(0, 8), Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
    const shot = path.join(os.tmpdir(), `joule-report-${name}-${process.pid}.png`);
    fs.writeFileSync(shot, page.screenshotPng, { mode: 0o644 });
    shots.push(shot);
    assert.equal(page.probed.scripts, 0);
    for (const chart of page.probed.charts) {
      assert.ok(chart.paths > 0, `${name}: chart ${chart.id} drew no path`);
      assert.ok(chart.width > 100, `${name}: chart ${chart.id} is ${chart.width} px wide`);
    }
    // Every chart says where its energy figures come from, or that it has none.
    for (const caption of page.probed.figcaptions) assert.match(caption, /Energy source|energy source|No energy figure/, caption);
    return { html, drawn: page.probed };
  }

  beforeEach(function () {
    if (!chromiumPath()) process.stderr.write('  (chromium not on PATH: the browser half of these checks is skipped; bash .ci/install-debian-packages.sh installs it)\n');
  });

  it('a run: power per domain over time from NVML, the energy breakdown, the data as CSV and JSON', async function () {
    const { html, drawn } = await report('run', ['gpu-run']);
    assert.match(html, /Measured energy [\d.]+ J \(nvml-counter [\d.]+ J\)/);
    assert.match(html, /download="power-over-time\.csv" href="data:text\/csv;base64,/);
    const rows = chartCsv(html, 'power-over-time');
    const gpuRows = rows.filter((r) => r.kind === 'power' && r.source === 'nvml');
    assert.ok(gpuRows.length > 3, 'GPU power samples in the chart data');
    // The fake GPUs draw a constant 120 W: differentiated counters give it back.
    for (const row of gpuRows.slice(1)) assert.ok(Math.abs(Number(row.powerW) - 120) < 2, JSON.stringify(row));
    assert.ok(rows.some((r) => r.kind === 'event' && r.label === 'run-ended'), 'run events in the chart data');
    if (!drawn) return skipBecause(this, 'chromium is not installed');
    const power = drawn.charts.find((c) => c.id === 'power-over-time')!;
    for (const title of ['power (W)', 'time since first sample (s)', 'domain', 'source']) assert.ok(power.texts.includes(title), `axis/legend title ${title} in ${power.texts.join('|')}`);
    assert.ok(drawn.charts.some((c) => c.id === 'energy-breakdown' && c.texts.includes('energy (J)')));
  });

  it('a run of collectives: each benchmarked allreduce marked as a band on the power chart, and in its CSV and JSON', async function () {
    const { html, drawn } = await report('bench-run', ['bench-run']);
    const rows = chartCsv(html, 'power-over-time');
    const collectives = rows.filter((r) => r.kind === 'collective');
    // Sizes 1, 2 and 4 MiB, each timed out of place and in place: six windows on rank 0.
    assert.deepEqual(collectives.map((r) => r.label), ['1048576B out-place', '1048576B in-place', '2097152B out-place', '2097152B in-place', '4194304B out-place', '4194304B in-place'].map((s) => `allreduce ${s}`));
    for (const r of collectives) assert.ok(Number(r.endS) > Number(r.timeS) && Number(r.timeS) >= 0, JSON.stringify(r));
    const json = JSON.parse(Buffer.from(/download="power-over-time\.json" href="data:application\/json;base64,([^"]+)"/.exec(html)![1], 'base64').toString()) as { kind: string }[];
    assert.equal(json.filter((r) => r.kind === 'collective').length, 6);
    assert.match(html, /Orange bands: collectives \(allreduce 1048576B out-place, /);
    if (!drawn) return skipBecause(this, 'chromium is not installed');
    const power = drawn.charts.find((c) => c.id === 'power-over-time')!;
    assert.deepEqual(power.bands.filter((b) => b.startsWith('allreduce')).sort(), collectives.map((r) => r.label).sort());
  });

  it('a pipeline run: per stage its layers, FLOPs share and measured times beside the GPipe formula, and a stacked bar of its energy split equal to the summary\'s', async function () {
    const { html, drawn } = await report('pp-run', ['pp-run']);
    const summary = JSON.parse(fs.readFileSync(path.join(dir, 'pp-run', 'train-summary.json'), 'utf8'));
    const pipeline = summary.pipeline;
    assert.match(html, /<h2>Pipeline: pp, 1 × 2 \(replicas × stages\), 4 micro-batches, gpipe<\/h2>/);
    assert.match(html, /\(K−1\)\/\(M\+K−1\) = \(2−1\)\/\(4\+2−1\) = 20 %/);
    const stages = tableCells(html, 'Stages');
    assert.equal(stages.length, 2);
    const flops = pipeline.split.stages.map((st: { flopsPerSample: number }) => st.flopsPerSample);
    for (const [i, row] of stages.entries()) {
      const split = pipeline.split.stages[i];
      assert.equal(row[1], `${split.layers[0]}–${split.layers[1] - 1}`);
      assertRounded(row[3], (100 * flops[i]) / (flops[0] + flops[1]), `stage ${i} FLOPs share`);
      // The same steps as the summary's measured figures (a fresh run: every step after the first).
      assertRounded(row[5], pipeline.measured.stages[i].computeS, `stage ${i} compute s/step`);
      assertRounded(row[8], 100 * pipeline.measured.stages[i].bubble, `stage ${i} not computing`);
      const [computeS, waitS, idleS] = [row[5], row[6], row[7]].map(Number);
      assert.ok(waitS > 0 && idleS >= 0, `stage ${i}: wait ${waitS} s, idle ${idleS} s`);
      // Idle is the rest of the mean step (none when compute and waits fill it).
      if (idleS > 0) assertRounded(computeS + waitS + idleS, pipeline.measured.stepS, `stage ${i} compute + wait + idle against the step`);
      else assert.ok(computeS + waitS >= pipeline.measured.stepS * (1 - 5e-4), `stage ${i}: no idle, yet compute + wait < step`);
      assert.equal(row[9], '20');
    }
    // The chart's data: each stage's compute, wait and idle joules as the summary summed them, with their source.
    const rows = chartCsv(html, 'pipeline-energy-split');
    assert.equal(rows.length, 6);
    for (const row of rows) {
      const sums = pipeline.energySplit.stages[Number(row.stage)].bySource[row.source];
      assert.ok(sums, `summary has stage ${row.stage} from ${row.source}`);
      assert.equal(row.source, 'model');
      assert.equal(Number(row.steps), sums.steps);
      assertRounded(row.energyJ, sums[`${row.part}J`], `stage ${row.stage} ${row.part}`);
      assertRounded(row.sharePct, (100 * sums[`${row.part}J`]) / (sums.computeJ + sums.waitJ + sums.idleJ), `stage ${row.stage} ${row.part} share`);
    }
    assert.deepEqual(rows.map((r) => r.part), ['compute', 'wait', 'idle', 'compute', 'wait', 'idle']);
    assert.match(html, /<figcaption><strong>Where each pipeline stage&#39;s joules went\.<\/strong> Energy source: model\. [^<]*split by time shares/);
    if (!drawn) return skipBecause(this, 'chromium is not installed');
    const chart = drawn.charts.find((c) => c.id === 'pipeline-energy-split')!;
    assert.equal(chart.bands.length, rows.filter((r) => Number(r.energyJ) > 0).length, 'one drawn bar segment per part with energy');
    for (const text of ['energy (J)', 'stage (energy source)', 'stage 0 (model)', 'stage 1 (model)', 'compute', 'wait', 'idle']) assert.ok(chart.texts.includes(text), `${text} in ${chart.texts.join('|')}`);
  });

  it('a data-parallel training run: its energy by activity, compute, communication and idle, per source, from its steps', async function () {
    const { html, drawn } = await report('dp-run', ['dp-run']);
    const steps = fs.readFileSync(path.join(dir, 'dp-run', 'steps.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l)).filter((st) => st.rank === 0);
    const summary = JSON.parse(fs.readFileSync(path.join(dir, 'dp-run', 'train-summary.json'), 'utf8'));
    const rows = chartCsv(html, 'energy-breakdown').filter((r) => r.group === 'activity (model)');
    assert.deepEqual(rows.map((r) => r.part), ['compute (model)', 'communication (model)', 'idle (model)']);
    assertRounded(rows[0].energyJ, summary.energy.computeJ, 'compute');
    assertRounded(rows[1].energyJ, summary.energy.commJ, 'communication');
    // Idle: each step's window less its compute and communication windows.
    const idleJ = steps.reduce((t, st) => t + st.energy.modelEnergyJ - st.energy.computeJ - st.energy.commJ, 0);
    assert.ok(idleJ > 0);
    assertRounded(rows[2].energyJ, idleJ, 'idle');
    assert.doesNotMatch(html, /<h2>Pipeline/);
    if (!drawn) return skipBecause(this, 'chromium is not installed');
    assert.ok(drawn.charts.find((c) => c.id === 'energy-breakdown')!.texts.includes('idle (model)'));
  });

  it('a sweep: energy against device-hours with its fit, speed-up, the Pareto front, energy per sample by precision', async function () {
    const scaling = await report('scaling', ['scaling']);
    assert.match(scaling.html, /k = 720000 J per device-hour, R² = 1 \(3 runs\)/);
    const sweep = await report('sweep', ['lbs-precision']);
    assert.match(sweep.html, /Energy source: nvml-counter/);
    if (!scaling.drawn) return skipBecause(this, 'chromium is not installed');
    // The fixture's GBS grows with the GPU count (lbs 32 per GPU), so accuracy against GBS is drawn too.
    assert.deepEqual(scaling.drawn.charts.map((c) => c.id), ['scaling', 'energy-vs-device-hours', 'accuracy-vs-gbs', 'pareto-front']);
    assert.ok(scaling.drawn.charts[0].texts.includes('devices (GPUs, or ranks without GPUs)'));
    assert.ok(scaling.drawn.charts[1].texts.includes('device-hours'));
    assert.deepEqual(sweep.drawn.charts.map((c) => c.id), ['energy-vs-device-hours', 'accuracy-vs-gbs', 'energy-per-sample-by-precision-and-strategy', 'pareto-front']);
    assert.ok(sweep.drawn.charts[3].texts.includes('Pareto front'));
    // Precision × strategy: one panel of bars per strategy.
    const both = await report('precision-strategy', ['precision-strategy']);
    const perSample = both.drawn.charts.find((c) => c.id === 'energy-per-sample-by-precision-and-strategy')!;
    assert.equal(perSample.bands.length, 4, 'one bar per configuration');
    for (const title of ['strategy', 'energy per sample (J)', 'dp', 'pp']) assert.ok(perSample.texts.includes(title), `${title} in ${perSample.texts.join('|')}`);
  });

  it('--validate: each estimation method\'s MAPE and RMSE against the measured energy, the ground truth\'s source on the chart, the same figures as joule estimate --validate', async function () {
    const logs = path.join(dir, 'logs');
    fs.mkdirSync(logs);
    for (const [name, seed] of [['b', 2], ['c', 3]] as const) writeSmiLog(logs, name, [scriptedPower({ seconds: 1201, warmupS: 120, seed }), scriptedPower({ seconds: 1201, warmupS: 120, seed: seed + 100 })]);
    const profile = path.join(dir, 'h100test.json');
    fs.writeFileSync(profile, JSON.stringify({ name: 'h100test', node: { gpusPerNode: 4, gpuModel: 'H100-SXM5-80GB', gpuTdpW: 700, cpuCoresPerNode: 64, cpuTdpWPerCore: 5 }, energy: { pue: 1.2, carbonIntensityGPerKWh: 300 } }));
    const traces = ['logs/b.csv', 'logs/c.csv'];
    const { html, drawn } = await report('validation', ['--validate', ...traces, '--profile', profile, '--stabilizing-epoch', '3']);
    const estimated = await joule(['estimate', '--validate', ...traces.map((t) => path.join(dir, t)), '--profile', profile, '--stabilizing-epoch', '3', '--json']);
    assert.equal(estimated.code, 0, estimated.stderr);
    const expected = (JSON.parse(estimated.stdout).methods as { method: string; n: number; mapePct: number; rmseKJ: number }[]).filter((m) => m.n > 0);
    for (const id of ['validation-mape', 'validation-rmse']) {
      const rows = chartCsv(html, id);
      assert.deepEqual(rows.map((r) => r.method), expected.map((m) => m.method));
      for (const [i, m] of expected.entries()) {
        assert.ok(Math.abs(Number(rows[i].mapePct) - m.mapePct) <= 1e-3 * m.mapePct, `${m.method} MAPE ${rows[i].mapePct} vs ${m.mapePct}`);
        assert.ok(Math.abs(Number(rows[i].rmseKJ) - m.rmseKJ) <= 1e-3 * m.rmseKJ, `${m.method} RMSE ${rows[i].rmseKJ} vs ${m.rmseKJ}`);
        assert.equal(rows[i].truth, 'nvidia-smi');
      }
    }
    assert.ok(expected.some((m) => m.method === 'step') && expected.some((m) => m.method === 'tdp'), 'STEP and TDP answered');
    assert.match(html, /TDP RMSE over STEP RMSE: [\d.]+× \(del Rey et al\./);
    const misused = await joule(['report', path.join(dir, 'gpu-run'), '--profile', profile, '--out', path.join(dir, 'x.html')]);
    assert.equal(misused.code, 2);
    assert.match(misused.stderr, /--profile applies to --validate only \[JOULE_BAD_ARGUMENT\]/);
    if (!drawn) return skipBecause(this, 'chromium is not installed');
    assert.deepEqual(drawn.charts.map((c) => c.id), ['validation-mape', 'validation-rmse']);
    assert.ok(drawn.charts[0].texts.includes('MAPE (%) against nvidia-smi energy'), drawn.charts[0].texts.join('|'));
    assert.ok(drawn.charts[1].texts.includes('RMSE (kJ) against nvidia-smi energy'));
    for (const chart of drawn.charts) assert.equal(chart.bands.length, expected.length, `${chart.id}: one bar per method that answered`);
  });

  it('a comparison: the side-by-side table, what differs, and bar charts with each bar\'s energy source', async function () {
    const { html, drawn } = await report('compare', ['gpu-run', 'gpu-run-b']);
    assert.match(html, /<caption>What differs besides the numbers<\/caption>/);
    assert.match(html, /Energy source per bar: gpu-run nvml-counter, gpu-run-b nvml-counter/);
    if (!drawn) return skipBecause(this, 'chromium is not installed');
    assert.deepEqual(drawn.charts.map((c) => c.id), ['compare-wPerDevice']);
  });

  it('the browser check itself fails on a console error', async function () {
    if (!chromiumPath()) return skipBecause(this, 'chromium is not installed');
    const page = path.join(dir, 'broken.html');
    fs.writeFileSync(page, '<!DOCTYPE html><p>x</p><script>console.error("drawn wrong")</script>');
    assert.deepEqual((await visit(page, '1')).errors, ['console.error: drawn wrong']);
  });
});
