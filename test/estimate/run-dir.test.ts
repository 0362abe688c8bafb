import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { readRunTrace } from '../../src/estimate/import/run-dir';
import { epochEnergies, primarySeries, traceEnergy } from '../../src/estimate/trace';
import { monotonicS, PowerMonitor } from '../../src/power/monitor';
import { jsonlSink } from '../../src/power/records';
import { sampleFields } from '../../src/power/sampler';

const lines = (records: unknown[]) => records.map((r) => `${JSON.stringify(r)}\n`).join('');

describe('trace import: joule run directories', function () {
  this.timeout(30_000);
  let dir: string;
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'joule-estimate-run-'))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('GPU counter and process model as separate series; epochs placed through rank 0\'s step windows, measured figures kept', () => {
    const clock = { monotonicS: 1000, epochMs: 1.7e12 };
    const row = (t: number, channel: number, energyJ: number | null, cpuTimeS: number | null) =>
      sampleFields.map((f) => ({ timeS: t, channel, energyJ, cpuTimeS } as Record<string, number | null>)[f] ?? null);
    const rows = [];
    for (let k = 0; k <= 8; k++) rows.push(row(1000 + k, 0, 250 * k, null), row(1000 + k, 1, null, 0.5 * k));
    // A window boundary's extra reading 1 ms after a tick, with the CPU clock's coarse step in it: a
    // trapezoid of derived power would smear 10 W/ms over the neighbours; the counter's difference does not.
    rows.splice(4, 0, row(1001.001, 1, null, 0.5 + 0.004));
    fs.writeFileSync(
      path.join(dir, 'power.jsonl'),
      lines([
        { type: 'power-channels', rank: 0, clock, periodS: 1, channels: [{ kind: 'gpu', label: 'gpu0' }, { kind: 'process', label: 'process' }], profile: { cpuTdpPerCoreW: 10 } },
        { type: 'power-samples', rank: 0, fields: sampleFields, rows },
        { type: 'power-window', rank: 1, name: 'step', startS: 1001 },
        { type: 'power-window', rank: 0, name: 'step', startS: 1002 },
        { type: 'power-window', rank: 0, name: 'step', startS: 1004 },
      ]) + '{"type":"power-sam',
    );
    fs.writeFileSync(
      path.join(dir, 'epochs.jsonl'),
      lines([
        { epoch: 1, steps: 1, startS: 0.5, endS: 2.5, durationS: 2, energyJ: 500, modelEnergyJ: 10, energySource: 'nvml' },
        { epoch: 2, steps: 1, startS: 2.5, endS: 4.5, durationS: 2, energyJ: 520, modelEnergyJ: 10, energySource: 'nvml' },
      ]),
    );
    fs.writeFileSync(path.join(dir, 'run.json'), JSON.stringify({ size: 1, durationS: 9, ranks: [{ gpus: [0], cpus: [0, 1] }], energy: { totals: { measuredJ: 2000, modelJ: 40, gpuHours: 0.0025 } }, profile: { name: 'h100', node: { gpusPerNode: 4 } }, config: {} }));
    fs.writeFileSync(path.join(dir, 'train-config.jsonl'), lines([{ config: { model: 'resnet50', lbs: 64 }, model: { name: 'resnet50', parameters: 25_557_032, flopsPerSample: 8.2e9, inputShape: [224, 224, 3] }, dataset: { trainSize: 1000 } }]));

    const { trace, info } = readRunTrace(dir);
    assert.deepEqual(trace.series.map((s) => [s.device, s.source]), [['0/gpu0', 'nvml'], ['0/process', 'model']]);
    assert.deepEqual(primarySeries(trace).map((s) => s.device), ['0/gpu0']);
    assert.deepEqual(trace.series[0].powerW, new Array(9).fill(250));
    assert.equal(trace.series[1].timesS.length, 10);
    const energy = traceEnergy(trace);
    assert.equal(energy.bySource.nvml, 2000);
    assert.equal(energy.bySource.model, 0.5 * 8 * 10);
    // Training second 0.5 is the first step window of rank 0 (monotonic 1002), on the wall clock.
    assert.equal(trace.epochs[0].startS, 1.7e9 + 2);
    assert.equal(trace.epochs[1].endS, 1.7e9 + 6);
    assert.deepEqual(epochEnergies(trace).map((e) => e.energyJ), [500, 520]);
    assert.equal(trace.epochs[0].source, 'nvml');
    assert.equal(info.gpus, 1);
    assert.equal(info.cpus, 2);
    assert.equal(info.measuredJ, 2000);
    assert.equal(info.config.model, 'resnet50');
    assert.deepEqual(info.model, { name: 'resnet50', parameters: 25_557_032, flopsPerSample: 8.2e9, inputSize: 224 * 224 * 3 });
    assert.equal(info.datasetSize, 1000);
  });

  it('reads what PowerMonitor writes (no GPU, no RAPL: the model), with the model\'s epoch figures', async () => {
    const emptyPowercap = fs.mkdtempSync(path.join(os.tmpdir(), 'joule-no-powercap-'));
    try {
      const monitor = await new PowerMonitor({ periodMs: 5, gpus: [], rapl: false, powercapRoot: emptyPowercap, sink: jsonlSink(dir), identity: { rank: 0, localRank: 0, host: 'here' } }).start();
      const trainingStartS = monotonicS();
      const epochs: Record<string, unknown>[] = [];
      for (let epoch = 1; epoch <= 2; epoch++) {
        const startS = monotonicS() - trainingStartS;
        let modelJ = 0;
        for (let step = 0; step < 3; step++) {
          const { energy } = await monitor.window('step', () => {
            let x = 0;
            for (let i = 0; i < 2e6; i++) x += Math.sqrt(i);
            return x;
          });
          modelJ += energy.modelEnergyJ ?? 0;
        }
        epochs.push({ epoch, steps: 3, startS, endS: monotonicS() - trainingStartS, energyJ: null, modelEnergyJ: modelJ, energySource: 'model' });
      }
      await monitor.stop();
      fs.writeFileSync(path.join(dir, 'epochs.jsonl'), lines(epochs));
      const { trace } = readRunTrace(dir);
      assert.deepEqual(trace.series.map((s) => s.source), ['model']);
      assert.equal(trace.epochs.length, 2);
      assert.deepEqual(epochEnergies(trace).map((e) => e.energyJ), epochs.map((e) => e.modelEnergyJ));
      assert.ok(trace.epochs.every((e) => e.source === 'model'));
      const series = trace.series[0];
      // The epochs lie on the samples' time axis.
      assert.ok(trace.epochs[0].startS >= series.timesS[0] - 1 && trace.epochs[1].endS <= series.timesS[series.timesS.length - 1] + 1);
    } finally {
      fs.rmSync(emptyPowercap, { recursive: true, force: true });
    }
  });

  it('a directory with neither power records nor epochs is an error naming it', () => {
    fs.writeFileSync(path.join(dir, 'run.json'), '{}');
    assert.throws(() => readRunTrace(dir), { code: 'JOULE_BAD_ARGUMENT', message: /nothing to estimate from/ });
  });
});
