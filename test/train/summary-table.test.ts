// The end-of-run table of joule train: a pipeline's rows say each stage's energy split (J and share per part, with its source), sources never added together.
import assert from 'node:assert/strict';
import { summaryTable } from '../../src/train/progress';
import type { PipelineSummary, TrainSummary } from '../../src/train/records';

const dataParallel: TrainSummary = {
  status: 'completed',
  model: { name: 'mlp', parameters: 101770, flopsPerSample: 203264 },
  dataset: { name: 'synthetic-images', trainSize: 256, testSize: 64, source: 'generated', licence: 'n/a' },
  backend: { backend: 'wasm' } as TrainSummary['backend'],
  ranks: 2,
  lbs: 8,
  gbs: 16,
  accumulation: 1,
  epochs: 1,
  steps: 6,
  samples: 96,
  wallTimeS: 1.5,
  samplesPerS: 64,
  steadySamplesPerS: null,
  train: { loss: 2.3, accuracy: 0.2 },
  heldOut: { loss: 2.1, accuracy: 0.25 },
  energy: { energyJ: 120, modelEnergyJ: null, source: 'nvml', jPerSample: 1.25, computeJ: 80, commJ: 30 },
  gpuHours: 0.001,
  rankHours: 0.001,
  communicatedBytes: 4096,
  time: { computeS: 1, commS: 0.3, idleS: 0.2 },
  skippedSteps: 0,
  precision: { choice: 'fp32', kind: 'fixed', emulated: null, wire: { f32: 6, bf16: 0, f16: 0 }, decisions: [] },
  position: { epoch: 1, stepInEpoch: 0, globalStep: 6 },
};

const split = (stage: number): PipelineSummary['split']['stages'][number] => ({ stage, layers: [stage, stage + 1], firstLayer: `l${stage}`, lastLayer: `l${stage}`, flopsPerSample: 1e5, parameters: 10 });

const pipeline: PipelineSummary = {
  strategy: 'pp',
  dp: 1,
  stages: 3,
  microBatches: 4,
  schedule: 'gpipe',
  split: { mode: 'flops', cuts: [1, 2], stages: [split(0), split(1), split(2)] },
  bubbleTheory: 2 / 6,
  measured: null,
  energySplit: {
    basis: 'time-share',
    stages: [
      { stage: 0, bySource: { nvml: { steps: 4, computeJ: 30, waitJ: 15, idleJ: 5 } } },
      // Steps measured and steps modelled: two splits side by side, never one sum.
      { stage: 1, bySource: { nvml: { steps: 3, computeJ: 9, waitJ: 0, idleJ: 1 }, model: { steps: 1, computeJ: 1, waitJ: 1, idleJ: 2 } } },
      { stage: 2, bySource: {} },
    ],
  },
};

/** The table's rows under a label: the labelled row and the unlabelled ones after it. */
function rowsUnder(table: string, label: string): string[] {
  const lines = table.split('\n');
  const first = lines.findIndex((line) => line.startsWith(`${label} `));
  if (first < 0) return [];
  const width = lines[first].indexOf(lines[first].slice(label.length).trimStart());
  const rows = [lines[first].slice(width)];
  for (const line of lines.slice(first + 1)) {
    if (line.slice(0, width).trim() !== '') break;
    rows.push(line.slice(width));
  }
  return rows;
}

describe('joule train summary table', () => {
  it('a pipeline: one row per stage with its joules and shares of compute, wait and idle, per source, split by time shares', () => {
    const rows = rowsUnder(summaryTable({ ...dataParallel, pipeline }), 'stage energy');
    assert.deepEqual(rows, [
      '0: compute 30.0 J (60 %), wait 15.0 J (30 %), idle 5.00 J (10 %), nvml over 4 steps (split by time shares)',
      '1: compute 9.00 J (90 %), wait 0.00 J (0 %), idle 1.00 J (10 %), nvml over 3 steps; compute 1.00 J (25 %), wait 1.00 J (25 %), idle 2.00 J (50 %), model over 1 step (split by time shares)',
      '2: n/a (no energy figure)',
    ]);
  });

  it('data parallelism: no stage rows', () => {
    const table = summaryTable(dataParallel);
    assert.deepEqual(rowsUnder(table, 'stage energy'), []);
    assert.doesNotMatch(table, /^stages /m);
  });
});
