// What training records: one line per step and per epoch (steps.jsonl, epochs.jsonl) and the run's
// summary, with running totals that survive a checkpoint so a resumed run reports the whole training.
import type { Precision } from '../precision/policy';
import type { TrainStatus } from './trainer';
import type { TfRuntime } from './backend';
import type { Position } from './checkpoint';
import type { TrainConfig } from './config';
import type { Dataset } from './data';
import type { Evaluation } from './evaluate';
import type { ModelSpec } from './models';
import type { PrecisionObservation } from '../precision/policy';
import type { EnergySourceLabel, StepEnergy } from './step-energy';
import type { StageEnergyTotals } from './pipeline/energy-split';

export interface StepRecord {
  step: number;
  epoch: number;
  /** Mean training loss over the global batch, and the share of it predicted right (null for no targets). */
  loss: number;
  accuracy: number | null;
  samples: number;
  durationS: number;
  samplesPerS: number;
  /** Mean over ranks: forward/backward, gradient exchange (copy, cast, wire), and the rest of the step. */
  computeS: number;
  commS: number;
  idleS: number;
  compute: Precision;
  /** The compute precision emulated by rounding weights (null: none); the math itself is float32. */
  emulated: 'bf16' | 'f16' | null;
  wire: Precision;
  /** Bytes all ranks handed the wire for gradients this step. */
  wireBytes: number;
  skipped: boolean;
  lossScale: number | null;
  /** Job-wide, filled in when the power windows resolve (a couple of steps later). */
  energy: StepEnergy | null;
}

export interface EpochRecord {
  epoch: number;
  steps: number;
  samples: number;
  /** Seconds since training started (resumed runs continue the count). */
  startS: number;
  endS: number;
  durationS: number;
  samplesPerS: number;
  trainLoss: number | null;
  trainAccuracy: number | null;
  heldOutLoss: number | null;
  heldOutAccuracy: number | null;
  /** Measured joules (null: nothing measured), modelled joules apart, and the source of the headline. */
  energyJ: number | null;
  modelEnergyJ: number | null;
  energySource: EnergySourceLabel;
  computeS: number;
  commS: number;
  idleS: number;
  wireBytes: number;
}

export interface TrainSummary {
  status: TrainStatus;
  runDir?: string;
  model: { name: string; parameters: number; flopsPerSample: number };
  dataset: { name: string; trainSize: number; testSize: number; source: string; licence: string };
  backend: TfRuntime;
  ranks: number;
  lbs: number;
  gbs: number;
  accumulation: number;
  epochs: number;
  steps: number;
  samples: number;
  wallTimeS: number;
  samplesPerS: number;
  /** Samples per second over the steps after the first 5 (set-up, evaluation and records left out); null when there were none. */
  steadySamplesPerS: number | null;
  train: { loss: number | null; accuracy: number | null };
  heldOut: { loss: number | null; accuracy: number | null };
  energy: {
    energyJ: number | null;
    modelEnergyJ: number | null;
    source: string;
    /** Joules per training sample, from the measured figure when there is one, else the model's (see source). */
    jPerSample: number | null;
    computeJ: number | null;
    commJ: number | null;
  };
  gpuHours: number;
  rankHours: number;
  communicatedBytes: number;
  time: { computeS: number; commS: number; idleS: number };
  skippedSteps: number;
  precision: { choice: string; kind: string; emulated: 'bf16' | 'f16' | null; wire: Record<string, number>; decisions: unknown[] };
  position: Position;
  /** Pipelines: the grid, schedule, stage split, and the measured bubble next to the GPipe formula's (absent for data parallelism). */
  pipeline?: PipelineSummary;
  /** Set by rank 0 after training: the collective backend the world communicator used and the NCCL library found (for joule compare). */
  comm?: CommFacts;
}

export interface CommFacts {
  /** shm, tcp, nccl or hierarchical; null when the world communicator ran no collective (one rank). */
  backend: string | null;
  /** ncclGetVersion of the NCCL library found (e.g. "2.21.5"), whether or not the backend used it; null when none loaded. */
  ncclVersion: string | null;
  /** Why no NCCL loaded, when none did. */
  ncclReason?: string;
}

export interface PipelineSummary {
  strategy: 'pp' | 'hybrid';
  dp: number;
  stages: number;
  microBatches: number;
  schedule: string;
  split: { mode: string; cuts: number[]; stages: { stage: number; layers: number[]; firstLayer: string; lastLayer: string; flopsPerSample: number; parameters: number }[] };
  /** (K−1)/(M+K−1). */
  bubbleTheory: number;
  /** Means per step over this run's steps after its first (set-up): each stage's compute seconds and idle share. */
  measured: { steps: number; stepS: number; stages: { stage: number; computeS: number; bubble: number }[] } | null;
  /** Each stage's joules over this run's steps split into compute, waits and idle by time shares (pipeline/energy-split.ts). */
  energySplit?: { basis: 'time-share'; stages: StageEnergyTotals[] };
}

interface Counters {
  steps: number;
  samples: number;
  lossSum: number;
  accuracySum: number;
  accuracySteps: number;
  computeS: number;
  commS: number;
  idleS: number;
  wireBytes: number;
  skipped: number;
  measuredJ: number;
  modelJ: number;
  measuredSteps: number;
  modelSteps: number;
  computeJ: number;
  commJ: number;
  nvmlSteps: number;
  raplSteps: number;
  wireF32: number;
  wireBf16: number;
  wireF16: number;
  /** Steps past the warm-up, and their seconds and samples: the steady throughput benchmarks compare. */
  steadySteps: number;
  steadyS: number;
  steadySamples: number;
}

const RECENT_STEPS = 20;
// The first steps pay one-time costs (kernel set-up, the first connection of the communicator).
const WARMUP_STEPS = 5;

const zero = (): Counters => ({ steps: 0, samples: 0, lossSum: 0, accuracySum: 0, accuracySteps: 0, computeS: 0, commS: 0, idleS: 0, wireBytes: 0, skipped: 0, measuredJ: 0, modelJ: 0, measuredSteps: 0, modelSteps: 0, computeJ: 0, commJ: 0, nvmlSteps: 0, raplSteps: 0, wireF32: 0, wireBf16: 0, wireF16: 0, steadySteps: 0, steadyS: 0, steadySamples: 0 });

/** Running sums for the summary and the epoch records; `state()` goes into checkpoints. */
export class Totals {
  private c: Counters = zero();
  // The final training loss and accuracy are the means over the most recent steps, which smooths
  // batch-to-batch noise without reaching back to the start of training.
  private recent: { loss: number; accuracy: number | null }[] = [];
  /** Seconds the runs this one resumed had trained. */
  private priorElapsedS = 0;
  /** Steps whose energy has not resolved yet, with what the policy will be told about them. */
  readonly pendingSteps = new Map<number, { record: StepRecord; observation: PrecisionObservation }>();

  addStep(r: StepRecord): void {
    this.recent.push({ loss: r.loss, accuracy: r.accuracy });
    if (this.recent.length > RECENT_STEPS) this.recent.shift();
    const c = this.c;
    c.steps += 1;
    c.samples += r.samples;
    c.lossSum += r.loss;
    if (r.accuracy !== null) {
      c.accuracySum += r.accuracy;
      c.accuracySteps += 1;
    }
    c.computeS += r.computeS;
    c.commS += r.commS;
    c.idleS += r.idleS;
    c.wireBytes += r.wireBytes;
    if (r.skipped) c.skipped += 1;
    if (r.step >= WARMUP_STEPS) {
      c.steadySteps += 1;
      c.steadyS += r.durationS;
      c.steadySamples += r.samples;
    }
    if (r.wire === 'f32') c.wireF32 += 1;
    else if (r.wire === 'bf16') c.wireBf16 += 1;
    else c.wireF16 += 1;
  }

  addEnergy(e: StepEnergy): void {
    const c = this.c;
    if (e.energyJ !== null) {
      c.measuredJ += e.energyJ;
      c.measuredSteps += 1;
      if (e.source.includes('nvml')) c.nvmlSteps += 1;
      if (e.source.includes('rapl')) c.raplSteps += 1;
    }
    if (e.modelEnergyJ !== null) {
      c.modelJ += e.modelEnergyJ;
      c.modelSteps += 1;
    }
    c.computeJ += e.computeJ ?? 0;
    c.commJ += e.commJ ?? 0;
  }

  snapshot(): Counters {
    return { ...this.c };
  }

  energySoFar(): { energyJ: number | null; modelEnergyJ: number | null; source: string } {
    return { energyJ: this.c.measuredSteps ? this.c.measuredJ : null, modelEnergyJ: this.c.modelSteps ? this.c.modelJ : null, source: this.sourceLabel(this.c) };
  }

  private sourceLabel(c: Counters): string {
    const measured = [c.nvmlSteps ? 'nvml' : '', c.raplSteps ? 'rapl' : ''].filter(Boolean).join('+');
    if (measured && c.modelSteps) return `${measured} (model for what was not measured: ${c.modelSteps} steps)`;
    return measured || (c.modelSteps ? 'model' : 'none');
  }

  epochRecord(epoch: number, start: Counters & { timeS: number }, endS: number, held: Evaluation): EpochRecord {
    const d = (key: keyof Counters) => this.c[key] - start[key];
    const steps = d('steps');
    const durationS = endS - start.timeS;
    const measured = d('measuredSteps') > 0;
    return {
      epoch,
      steps,
      samples: d('samples'),
      startS: start.timeS,
      endS,
      durationS,
      samplesPerS: durationS > 0 ? d('samples') / durationS : 0,
      trainLoss: steps ? d('lossSum') / steps : null,
      trainAccuracy: d('accuracySteps') ? d('accuracySum') / d('accuracySteps') : null,
      heldOutLoss: held.loss,
      heldOutAccuracy: held.accuracy,
      energyJ: measured ? d('measuredJ') : null,
      modelEnergyJ: d('modelSteps') ? d('modelJ') : null,
      energySource: measured ? (d('nvmlSteps') && d('raplSteps') ? 'nvml+rapl' : d('nvmlSteps') ? 'nvml' : 'rapl') : d('modelSteps') ? 'model' : 'none',
      computeS: d('computeS'),
      commS: d('commS'),
      idleS: d('idleS'),
      wireBytes: d('wireBytes'),
    };
  }

  /** Created when training begins: its clock starts then. */
  constructor(private readonly startedAt = process.hrtime.bigint()) {}

  /** Seconds of training so far: this run's and those of the runs it resumed. */
  elapsedS(): number {
    return Number(process.hrtime.bigint() - this.startedAt) / 1e9 + this.priorElapsedS;
  }

  state(): Record<string, number> {
    return { ...this.c, elapsedS: this.elapsedS() } as unknown as Record<string, number>;
  }

  load(state: Record<string, number>): void {
    const loaded = zero();
    for (const key of Object.keys(loaded) as (keyof Counters)[]) if (typeof state[key] === 'number') loaded[key] = state[key];
    this.c = loaded;
    this.priorElapsedS = state.elapsedS ?? 0;
  }

  summary(run: {
    status: TrainStatus;
    config: TrainConfig;
    runtime: TfRuntime;
    spec: ModelSpec;
    dataset: Dataset;
    ranks: number;
    gpus: number;
    elapsedS: number;
    heldOut: { loss: number | null; accuracy: number | null };
    position: Position;
    totalSteps: number;
    policy: { kind: string; history: unknown[] };
  }): TrainSummary {
    const c = this.c;
    const energy = this.energySoFar();
    const headline = energy.energyJ ?? energy.modelEnergyJ;
    return {
      status: run.status,
      model: { name: run.spec.name, parameters: run.spec.parameters, flopsPerSample: run.spec.flopsPerSample },
      dataset: { name: run.dataset.name, trainSize: run.dataset.trainSize, testSize: run.dataset.testSize, source: run.dataset.source, licence: run.dataset.licence },
      backend: run.runtime,
      ranks: run.ranks,
      lbs: run.config.lbs,
      gbs: run.config.gbs,
      accumulation: run.config.accumulation,
      epochs: run.config.epochs,
      steps: c.steps,
      samples: c.samples,
      wallTimeS: run.elapsedS,
      samplesPerS: run.elapsedS > 0 ? c.samples / run.elapsedS : 0,
      steadySamplesPerS: c.steadyS > 0 ? c.steadySamples / c.steadyS : null,
      train: { loss: c.steps ? this.recentLoss() : null, accuracy: this.recentAccuracy() },
      heldOut: run.heldOut,
      energy: {
        energyJ: energy.energyJ,
        modelEnergyJ: energy.modelEnergyJ,
        source: energy.source,
        jPerSample: headline !== null && c.samples > 0 ? headline / c.samples : null,
        computeJ: c.measuredSteps || c.modelSteps ? c.computeJ : null,
        commJ: c.measuredSteps || c.modelSteps ? c.commJ : null,
      },
      gpuHours: (run.gpus * run.elapsedS) / 3600,
      rankHours: (run.ranks * run.elapsedS) / 3600,
      communicatedBytes: c.wireBytes,
      time: { computeS: c.computeS, commS: c.commS, idleS: c.idleS },
      skippedSteps: c.skipped,
      precision: { choice: run.config.precision, kind: run.policy.kind, emulated: run.config.emulate, wire: { f32: c.wireF32, bf16: c.wireBf16, f16: c.wireF16 }, decisions: run.policy.history },
      position: run.position,
    };
  }

  private recentLoss(): number | null {
    return this.recent.length ? this.recent.reduce((t, r) => t + r.loss, 0) / this.recent.length : null;
  }

  private recentAccuracy(): number | null {
    const known = this.recent.filter((r) => r.accuracy !== null);
    return known.length ? known.reduce((t, r) => t + r.accuracy!, 0) / known.length : null;
  }
}
