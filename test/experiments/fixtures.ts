// Fixture sweeps written by the tests: known energies, times and accuracies per repeat, so fronts, ties and charts can be checked against numbers chosen here.
import fs from 'node:fs';
import path from 'node:path';
import { createSweep } from '../../src/experiments/sweep-dir';
import { expandSweep, type ParamValue } from '../../src/experiments/sweep-grid';

export interface FixtureRun {
  energyJ: number;
  durationS: number;
  accuracy: number;
  /** Default nvml-counter (measured); 'model' writes a modelled figure. */
  source?: string;
}

export interface FixtureConfig {
  params: Record<string, ParamValue>;
  runs: FixtureRun[];
}

/** A sweep directory whose points are run directories with run.json and train-summary.json carrying the given figures. */
export function writeFixtureSweep(dir: string, grid: Record<string, ParamValue[]>, configs: FixtureConfig[], options: { gpusPerRun?: number; profile?: string } = {}): void {
  const repeat = Math.max(...configs.map((c) => c.runs.length));
  const points = expandSweep({ command: ['train', '--model', 'mlp'], grid, repeat });
  createSweep(dir, { name: path.basename(dir), profile: options.profile ?? 'a100', spec: { command: ['train', '--model', 'mlp'], grid, repeat } }, points);
  for (const point of points) {
    const gpus = Number(point.params.gpus ?? options.gpusPerRun ?? 4);
    const config = configs.find((c) => Object.entries(c.params).every(([k, v]) => point.params[k] === v));
    const run = config?.runs[point.repeat - 1];
    if (!run) continue;
    const runDir = path.join(dir, 'runs', point.id);
    fs.mkdirSync(runDir, { recursive: true });
    const samples = 6400;
    const measured = run.source !== 'model';
    const source = run.source ?? 'nvml-counter';
    const manifest = {
      schema: 'joule.run/1',
      runId: point.id,
      name: point.id,
      status: 'succeeded',
      command: ['node', 'joule.js', 'train', ...point.command],
      cwd: dir,
      profile: { name: options.profile ?? 'a100', node: { gpusPerNode: gpus, gpuModel: 'NVIDIA A100-SXM4-40GB', gpuTdpW: 400, cpuTdpWPerCore: 7.5 } },
      config: {},
      launcher: { mode: 'srun', host: 'n1' },
      size: gpus,
      hosts: ['n1'],
      ranks: Array.from({ length: gpus }, (_, rank) => ({ rank, host: 'n1', gpus: [rank], state: 'exited', exitCode: 0 })),
      versions: { joule: '0.1.0', node: 'v20' },
      git: { cwd: null, joule: 'fixture' },
      environment: {},
      startedAt: '2026-12-01T10:00:00.000Z',
      endedAt: '2026-12-01T10:01:00.000Z',
      durationS: run.durationS,
      exitCode: 0,
      failure: null,
      streams: ['events.jsonl', 'steps.jsonl'],
      energy: { totals: { measuredJ: measured ? run.energyJ : 0, modelJ: measured ? 0 : run.energyJ, energyJ: run.energyJ, pue: 1.1, carbonGPerKWh: 380, gpuHours: (gpus * run.durationS) / 3600, profile: 'a100', sources: { [source]: run.energyJ } } },
      droppedFrames: 0,
    };
    fs.writeFileSync(path.join(runDir, 'run.json'), JSON.stringify(manifest, null, 2));
    const summary = {
      status: 'completed',
      model: { name: 'mlp' },
      dataset: { name: 'mnist' },
      backend: { backend: 'tfjs-node-gpu' },
      ranks: gpus,
      lbs: point.params.lbs ?? 32,
      gbs: Number(point.params.lbs ?? 32) * gpus,
      epochs: 1,
      samples,
      wallTimeS: run.durationS,
      samplesPerS: samples / run.durationS,
      heldOut: { accuracy: run.accuracy, loss: 1 - run.accuracy },
      precision: { choice: point.params.precision ?? 'fp32' },
      energy: { energyJ: measured ? run.energyJ : null, modelEnergyJ: measured ? null : run.energyJ, source, computeJ: run.energyJ * 0.8, commJ: run.energyJ * 0.2 },
      time: { computeS: run.durationS * 0.7, commS: run.durationS * 0.25, idleS: run.durationS * 0.05 },
    };
    fs.writeFileSync(path.join(runDir, 'train-summary.json'), JSON.stringify(summary, null, 2));
    const steps = Array.from({ length: 10 }, (_, step) => JSON.stringify({ rank: 0, step, epoch: 1, loss: 2.3 * Math.exp(-step / 4), samples: samples / 10, durationS: run.durationS / 10 }));
    fs.writeFileSync(path.join(runDir, 'steps.jsonl'), `${steps.join('\n')}\n`);
  }
}

/** Four configurations of lbs × precision, two repeats each: D is cheapest but least accurate, B and C overlap in energy, B dominates A. */
export function writeLbsPrecisionSweep(dir: string, options: { mixSources?: boolean } = {}): void {
  writeFixtureSweep(dir, { lbs: [32, 64, 128], precision: ['fp32', 'bf16'] }, [
    { params: { lbs: 32, precision: 'fp32' }, runs: [{ energyJ: 100, durationS: 10, accuracy: 0.91 }, { energyJ: 104, durationS: 11, accuracy: 0.92 }] },
    { params: { lbs: 64, precision: 'fp32' }, runs: [{ energyJ: 80, durationS: 8.2, accuracy: 0.91 }, { energyJ: 84, durationS: 8.5, accuracy: 0.92 }] },
    { params: { lbs: 64, precision: 'bf16' }, runs: [{ energyJ: 78, durationS: 7.5, accuracy: 0.9 }, { energyJ: 83, durationS: 8, accuracy: 0.91 }] },
    { params: { lbs: 128, precision: 'bf16' }, runs: [{ energyJ: 60, durationS: 6, accuracy: 0.8, source: options.mixSources ? 'model' : undefined }, { energyJ: 62, durationS: 6.2, accuracy: 0.81, source: options.mixSources ? 'model' : undefined }] },
  ]);
}
