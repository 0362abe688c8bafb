// Checkpoints: everything a run needs to continue exactly — weights, batch-norm statistics, optimizer
// moments, loss scaler, precision policy, data position — written so that a crash never leaves half of one.
import fs from 'node:fs';
import path from 'node:path';
import { JouleError } from '../errors';
import type { LossScalerState } from '../precision/loss-scaler';
import type { OptimizerName, Strategy, TrainConfig } from './config';
import type { Optimizer } from './optimizer';

const FORMAT = 'joule-checkpoint';
const VERSION = 1;

/** How the ranks were laid out; resuming under another layout is refused. */
export interface Layout {
  strategy: Strategy;
  ranks: number;
  /** Pipelines: the grid and the first layer of each stage after the first (each rank saved its own shard). */
  dp?: number;
  stages?: number;
  split?: number[];
}

/** Where training stands: the next step to run. The data order is a function of (seed, epoch), so this is all the RNG state there is. */
export interface Position {
  epoch: number;
  stepInEpoch: number;
  globalStep: number;
}

export interface CheckpointArrays {
  weights: Float32Array;
  buffers: Float32Array;
  m: Float32Array;
  v: Float32Array | null;
}

export interface CheckpointState {
  format: typeof FORMAT;
  version: number;
  config: TrainConfig;
  layout: Layout;
  position: Position;
  optimizer: { name: OptimizerName; step: number };
  lossScaler: LossScalerState | null;
  policy: unknown;
  /** The run's running totals, so the resumed run's summary covers the whole training. */
  totals: Record<string, number>;
  arrays: { name: keyof CheckpointArrays; length: number }[];
  savedAt: string;
}

export interface Checkpoint {
  dir: string;
  state: CheckpointState;
  arrays: CheckpointArrays;
}

const order: (keyof CheckpointArrays)[] = ['weights', 'buffers', 'm', 'v'];

/** Writes `checkpoints/step-<N>/` beside a temporary name, renames it into place, then points `latest.json` at it. */
export function saveCheckpoint(runDir: string, state: Omit<CheckpointState, 'format' | 'version' | 'arrays' | 'savedAt'>, arrays: CheckpointArrays): string {
  const root = path.join(runDir, 'checkpoints');
  const final = writeShard(root, `step-${state.position.globalStep}`, state, arrays);
  pointLatest(runDir, state.position.globalStep);
  return final;
}

/**
 * Pipelines: each rank writes its own shard, `checkpoints/step-<N>/rank-<R>/`; once every rank has (the
 * caller's barrier), rank 0 points `latest.json` at the step with pointLatest.
 */
export function saveShard(runDir: string, rank: number, state: Omit<CheckpointState, 'format' | 'version' | 'arrays' | 'savedAt'>, arrays: CheckpointArrays): string {
  return writeShard(path.join(runDir, 'checkpoints', `step-${state.position.globalStep}`), `rank-${rank}`, state, arrays);
}

export function pointLatest(runDir: string, globalStep: number): void {
  const root = path.join(runDir, 'checkpoints');
  const latestTemp = path.join(root, `.latest.json.tmp-${process.pid}`);
  writeSynced(latestTemp, Buffer.from(JSON.stringify({ checkpoint: `step-${globalStep}`, globalStep }) + '\n'));
  fs.renameSync(latestTemp, path.join(root, 'latest.json'));
}

function writeShard(root: string, name: string, state: Omit<CheckpointState, 'format' | 'version' | 'arrays' | 'savedAt'>, arrays: CheckpointArrays): string {
  fs.mkdirSync(root, { recursive: true, mode: 0o755 });
  const final = path.join(root, name);
  const temp = path.join(root, `.${name}.tmp-${process.pid}`);
  fs.rmSync(temp, { recursive: true, force: true });
  fs.mkdirSync(temp, { mode: 0o755 });
  const present = order.filter((key) => arrays[key] !== null);
  const full: CheckpointState = {
    format: FORMAT,
    version: VERSION,
    ...state,
    arrays: present.map((key) => ({ name: key, length: arrays[key]!.length })),
    savedAt: new Date().toISOString(),
  };
  writeSynced(path.join(temp, 'tensors.bin'), Buffer.concat(present.map((key) => Buffer.from(arrays[key]!.buffer, arrays[key]!.byteOffset, arrays[key]!.byteLength))));
  writeSynced(path.join(temp, 'state.json'), Buffer.from(JSON.stringify(full, null, 1)));
  fs.rmSync(final, { recursive: true, force: true });
  fs.renameSync(temp, final);
  return final;
}

function writeSynced(file: string, data: Buffer): void {
  const fd = fs.openSync(file, 'w', 0o644);
  try {
    fs.writeSync(fd, data);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

function badCheckpoint(message: string): JouleError {
  return new JouleError('JOULE_BAD_CHECKPOINT', message);
}

/** The latest checkpoint of a run directory (or a checkpoint directory given directly); of a sharded (pipeline) one, `rank`'s shard. */
export function loadCheckpoint(where: string, rank = 0): Checkpoint {
  let dir = where;
  const latest = path.join(where, 'checkpoints', 'latest.json');
  if (fs.existsSync(latest)) {
    let pointer: { checkpoint?: unknown };
    try {
      pointer = JSON.parse(fs.readFileSync(latest, 'utf8'));
    } catch (error) {
      throw badCheckpoint(`${latest} is not readable JSON: ${(error as Error).message}`);
    }
    if (typeof pointer.checkpoint !== 'string' || !/^step-\d+$/.test(pointer.checkpoint)) throw badCheckpoint(`${latest} does not name a checkpoint`);
    dir = path.join(where, 'checkpoints', pointer.checkpoint);
  } else if (!fs.existsSync(path.join(where, 'state.json'))) {
    throw badCheckpoint(`${where} holds no checkpoint (no checkpoints/latest.json; was the run started with --checkpoint-every, or stopped before its first checkpoint?)`);
  }
  if (!fs.existsSync(path.join(dir, 'state.json')) && fs.existsSync(path.join(dir, 'rank-0', 'state.json'))) {
    dir = path.join(dir, `rank-${rank}`);
    if (!fs.existsSync(dir)) throw badCheckpoint(`${path.dirname(dir)} holds no shard of rank ${rank}: it was written by fewer ranks than this job has`);
  }
  let state: CheckpointState;
  try {
    state = JSON.parse(fs.readFileSync(path.join(dir, 'state.json'), 'utf8'));
  } catch (error) {
    throw badCheckpoint(`${dir}/state.json is not readable: ${(error as Error).message}`);
  }
  if (state.format !== FORMAT || state.version !== VERSION) throw badCheckpoint(`${dir} is not a joule checkpoint of version ${VERSION}`);
  const bytes = fs.readFileSync(path.join(dir, 'tensors.bin'));
  const expected = state.arrays.reduce((total, a) => total + a.length * 4, 0);
  if (bytes.length !== expected) throw badCheckpoint(`${dir}/tensors.bin holds ${bytes.length} bytes; state.json describes ${expected}`);
  const arrays: CheckpointArrays = { weights: new Float32Array(0), buffers: new Float32Array(0), m: new Float32Array(0), v: null };
  let offset = 0;
  for (const { name, length } of state.arrays) {
    const copy = new Float32Array(length);
    new Uint8Array(copy.buffer).set(bytes.subarray(offset, offset + length * 4));
    arrays[name] = copy;
    offset += length * 4;
  }
  return { dir, state, arrays };
}

/** Refuses a checkpoint made under another rank layout or for another model. */
export function checkResumable(checkpoint: Checkpoint, layout: Layout, weights: number, buffers: number): void {
  const saved = checkpoint.state.layout;
  if (describeLayout(saved) !== describeLayout(layout)) {
    throw badCheckpoint(`the checkpoint in ${checkpoint.dir} was written by ${describeLayout(saved)}; this job is ${describeLayout(layout)}. Resume with the same layout (-n ${saved.ranks}${saved.strategy === 'dp' ? '' : ` --strategy ${saved.strategy} --stages ${saved.stages}`}${saved.strategy === 'hybrid' ? ` --dp ${saved.dp}` : ''}).`);
  }
  if (checkpoint.arrays.weights.length !== weights || checkpoint.arrays.buffers.length !== buffers) {
    throw badCheckpoint(`the checkpoint holds ${checkpoint.arrays.weights.length} weights and ${checkpoint.arrays.buffers.length} statistics; model ${checkpoint.state.config.model} here has ${weights} and ${buffers}`);
  }
}

/** A rank's training state as a resume puts it back, whatever the strategy. */
export interface Resumable {
  weights: { size: number; values: Float32Array };
  /** Batch-norm statistics, uploaded into the model after they are set. */
  statistics: { size: number; values: Float32Array; upload(): void };
  optimizer: Optimizer;
  /** The precision policy and the loss scaler (the step boundary). */
  boundary: { load(checkpoint: Checkpoint): void };
  totals: { load(state: Record<string, number>): void };
}

/** The parts of a rank's state a checkpoint is taken from (snapshot(), the inverse of restore()). */
export interface Snapshotted {
  config: TrainConfig;
  optimizer: Optimizer;
  boundary: { precisionState(): { lossScaler: LossScalerState | null; policy: unknown } };
  totals: { state(): Record<string, number> };
  weights: Float32Array;
  /** Batch-norm statistics as they are to be saved. */
  statistics: Float32Array;
}

/** A rank's training state at `position`, as saveCheckpoint() and saveShard() write it. */
export function snapshot(position: Position, layout: Layout, of: Snapshotted): { state: Omit<CheckpointState, 'format' | 'version' | 'arrays' | 'savedAt'>; arrays: CheckpointArrays } {
  const optimizer = of.optimizer.state();
  return {
    state: { config: of.config, layout, position, optimizer: { name: optimizer.name, step: optimizer.step }, ...of.boundary.precisionState(), totals: of.totals.state() },
    arrays: { weights: of.weights, buffers: of.statistics, m: optimizer.m, v: optimizer.v },
  };
}

/** Checks the checkpoint fits this job, restores every part of the rank's state from it, and returns where training continues. */
export function restore(checkpoint: Checkpoint, layout: Layout, into: Resumable): Position {
  checkResumable(checkpoint, layout, into.weights.size, into.statistics.size);
  into.weights.values.set(checkpoint.arrays.weights);
  into.statistics.values.set(checkpoint.arrays.buffers);
  into.statistics.upload();
  const { name, step } = checkpoint.state.optimizer;
  into.optimizer.load({ name, step, m: checkpoint.arrays.m, v: checkpoint.arrays.v });
  into.boundary.load(checkpoint);
  into.totals.load(checkpoint.state.totals);
  return checkpoint.state.position;
}

/** "2 rank(s), strategy pp, 1 × 2 grid, stages from layers 0,5" — equal text, equal layout. */
export function describeLayout(layout: Layout): string {
  const grid = layout.strategy === 'dp' ? '' : `, ${layout.dp} × ${layout.stages} grid, stages from layers 0,${(layout.split ?? []).join(',')}`;
  return `${layout.ranks} rank(s), strategy ${layout.strategy}${grid}`;
}

/** On --resume, layout flags given on the command line must match the checkpoint's (its configuration applies otherwise). */
export function checkRequestedLayout(checkpoint: Checkpoint, requested: { strategy?: string; stages?: number; dp?: number; split?: string; 'micro-batches'?: number; schedule?: string }): void {
  const saved = checkpoint.state.config.parallel ?? { strategy: 'dp', stages: 1, dp: checkpoint.state.layout.ranks, split: 'flops', microBatches: 1, schedule: 'gpipe' };
  const differing = [
    requested.strategy !== undefined && requested.strategy !== saved.strategy ? `--strategy ${requested.strategy} (saved: ${saved.strategy})` : null,
    requested.stages !== undefined && requested.stages !== saved.stages ? `--stages ${requested.stages} (saved: ${saved.stages})` : null,
    requested.dp !== undefined && requested.dp !== saved.dp ? `--dp ${requested.dp} (saved: ${saved.dp})` : null,
    requested.split !== undefined && requested.split !== saved.split ? `--split ${requested.split} (saved: ${saved.split})` : null,
    requested['micro-batches'] !== undefined && requested['micro-batches'] !== saved.microBatches ? `--micro-batches ${requested['micro-batches']} (saved: ${saved.microBatches})` : null,
    requested.schedule !== undefined && requested.schedule !== saved.schedule ? `--schedule ${requested.schedule} (saved: ${saved.schedule})` : null,
  ].filter((d) => d !== null);
  if (differing.length) throw badCheckpoint(`the checkpoint in ${checkpoint.dir} was written by ${describeLayout(checkpoint.state.layout)}; resuming with another layout is not possible (${differing.join(', ')}): shards hold one stage's weights each. Resume without these flags, or with the saved ones.`);
}
