// The data-parallel training loop every rank runs: its shard of each global batch, forward/backward in
// tfjs, gradients averaged over the ranks at the policy's wire precision, the optimizer on identical
// master weights, and per-step time, loss, accuracy and energy recorded job-wide.
import * as tf from '@tensorflow/tfjs';
import type { Communicator } from '../comm/communicator';
import { JouleError } from '../errors';
import type { PowerWindows } from '../power/types';
import type { World } from '../world/types';
import type { TfRuntime } from './backend';
import { restore, saveCheckpoint, snapshot, type Checkpoint, type Position } from './checkpoint';
import type { Dataset } from './data';
import { evaluate } from './evaluate';
import { GradientSync, type SyncResult } from './gradients';
import { lossAndCorrect, type ModelSpec } from './models';
import { makeOptimizer } from './optimizer';
import { epochPermutation } from './rng';
import { setUpTraining } from './setup';
import { StepBoundary } from './step-boundary';
import { StepWindows, stepEnergy } from './step-energy';
import { Totals, type EpochRecord, type StepRecord, type TrainSummary } from './records';
import type { TrainConfig } from './config';
import { checksum, FlatWeights } from './weights';
import type { OnlineProjection } from '../estimate/online';

/** What the trainer needs of the rank runtime. */
export type TrainWorld = World & { comm: Communicator; power?: PowerWindows };

export interface TrainHooks {
  /** Rank 0: after every step and epoch (progress display). */
  onProgress?(update: ProgressUpdate): void;
  /** Set to true (e.g. by SIGTERM) to checkpoint and stop at the next step boundary, on every rank alike. */
  stopRequested?(): boolean;
  /** After the optimizer updated this rank's master weights (fault injection in tests). */
  afterUpdate?(step: number, weights: Float32Array): void;
  /** Tests only: this rank exits at the start of this step (a stage dying mid-pipeline). */
  exitAt?: number;
}

export interface ProgressUpdate {
  kind: 'step' | 'epoch';
  step?: StepRecord;
  epoch?: EpochRecord;
  totalSteps: number;
  epochs: number;
  stepsPerEpoch: number;
  elapsedS: number;
  energySoFar: { energyJ: number | null; modelEnergyJ: number | null; source: string };
  /** Job-wide power of the latest step whose energy is known (two steps back), and its source. */
  powerW: number | null;
  /** After an epoch, with --predict-after: the projected totals. */
  projection?: OnlineProjection | null;
}

export type TrainStatus = 'completed' | 'terminated' | 'budget';

// Metrics: job slots loss sum, correct, counted; one region every rank adds its compute and comm seconds into.
const METRICS_LAYOUT = { jobSlots: 3, rankSlots: 2, perRank: false };

export async function train(world: TrainWorld, config: TrainConfig, hooks: TrainHooks = {}, resume?: Checkpoint): Promise<TrainSummary> {
  const totals = new Totals();
  const { runtime, dataset, spec, stepsPerEpoch, totalSteps } = await setUpTraining(config);
  const comm = world.size > 1 ? world.comm : null;
  const weights = new FlatWeights(spec.model.trainableWeights.map((w) => w.read() as tf.Variable));
  const buffers = new FlatWeights(spec.model.nonTrainableWeights.map((w) => w.read() as tf.Variable));
  const optimizer = makeOptimizer(config.optimizer, weights.size, config.learningRate);
  let position: Position = { epoch: 0, stepInEpoch: 0, globalStep: 0 };
  const saveAt = async (pos: Position) => {
    const statistics = await buffersSynced(buffers, comm);
    if (world.rank !== 0) return;
    const { state, arrays } = snapshot(pos, { strategy: 'dp', ranks: world.size }, { config, optimizer, boundary, totals, weights: weights.values, statistics });
    saveCheckpoint(world.runDir, state, arrays);
    world.log(`checkpoint at step ${pos.globalStep} (epoch ${pos.epoch + 1}, step ${pos.stepInEpoch} of ${stepsPerEpoch})`);
  };
  const boundary = new StepBoundary({
    world,
    comm,
    config,
    hooks,
    totals,
    totalSteps,
    stepsPerEpoch,
    layout: METRICS_LAYOUT,
    stepEnergy: (metrics) => stepEnergy(metrics.energySum()),
    save: saveAt,
    checksum: (step) => compareChecksums(world, comm, weights, step),
  });

  if (resume) position = restore(resume, { strategy: 'dp', ranks: world.size }, { weights, statistics: buffers, optimizer, boundary, totals });

  // The first forward pass sees the emulated precision too.
  weights.upload(config.emulate ?? undefined);
  const sync = new GradientSync(weights.slots, weights.size, config.bucketBytes, comm);
  const variables = weights.variables;
  const dp = world.size;
  const power = config.instrument ? world.power : undefined;
  const lastEpochEval: { loss: number | null; accuracy: number | null } = { loss: null, accuracy: null };
  let stopped: TrainStatus = 'completed';
  boundary.record('train-config', { config, backend: runtime, model: describeModel(spec), dataset: describeDataset(dataset), resumedFrom: resume?.dir ?? null });

  for (let epoch = position.epoch; epoch < config.epochs && position.globalStep < totalSteps && stopped === 'completed'; epoch++) {
    const order = epochPermutation(dataset.trainSize, config.seed, epoch);
    const epochStart = boundary.epochStart(position);
    for (let s = epoch === position.epoch ? position.stepInEpoch : 0; s < stepsPerEpoch && position.globalStep < totalSteps; s++) {
      const globalStep = position.globalStep;
      const decision = boundary.decide(globalStep);
      const scaler = boundary.scaler;
      const stepStart = process.hrtime.bigint();
      const windows = new StepWindows(power);
      let lossSum = 0;
      let correct = 0;
      let counted = 0;
      let computeS = 0;
      let syncResult: SyncResult = { wireBytes: 0, buckets: 0, stats: null };
      let commS = 0;
      world.setActivity(`train step ${globalStep}`);
      for (let a = 0; a < config.accumulation; a++) {
        const base = s * config.gbs + a * config.lbs * dp + world.rank * config.lbs;
        const indices = Array.from(order.subarray(base, base + config.lbs));
        windows.beginCompute();
        const t0 = process.hrtime.bigint();
        const batch = dataset.batch('train', indices);
        const { value, grads, correctCount, countedCount } = computeGradients(spec, batch, variables);
        lossSum += value * countedCount;
        correct += correctCount;
        counted += countedCount;
        tf.dispose(batch.x);
        tf.dispose(batch.labels);
        const t1 = process.hrtime.bigint();
        computeS += Number(t1 - t0) / 1e9;
        windows.endCompute();
        const ordered = variables.map((v) => grads[v.name]);
        if (a < config.accumulation - 1) {
          sync.add(ordered, a === 0);
        } else {
          windows.beginComm();
          syncResult = await sync.addAndSync(ordered, a === 0, {
            preScale: (scaler ? scaler.scale : 1) / config.accumulation,
            wire: decision.wire,
            wireStats: boundary.policy.kind === 'adaptive' && decision.wire !== 'f32',
            overflowSkips: scaler !== null,
          });
          windows.endComm();
          commS += Number(process.hrtime.bigint() - t1) / 1e9;
        }
        tf.dispose(Object.values(grads));
      }
      // Every rank holds the same averaged gradients, so every rank takes the same decision here.
      const skipped = await boundary.skipStep(sync.grads, null);
      if (!skipped) {
        optimizer.apply(weights.values, sync.grads);
        hooks.afterUpdate?.(globalStep, weights.values);
        weights.upload(config.emulate ?? undefined);
      }
      // One small allreduce per step: the job's loss and accuracy, the time split, whether any rank was
      // asked to stop, and the energy of the step ENERGY_LAG back.
      const metrics = await boundary.exchange(globalStep, stepStart, windows.end(), [lossSum, correct, counted], [computeS, commS], syncResult.stats);
      const stepS = Number(process.hrtime.bigint() - stepStart) / 1e9;
      const stepRecord: StepRecord = {
        step: globalStep,
        epoch: epoch + 1,
        loss: metrics.job(0) / metrics.job(2),
        accuracy: spec.task === 'classification' || metrics.job(2) > 0 ? metrics.job(1) / metrics.job(2) : null,
        samples: config.gbs,
        durationS: stepS,
        samplesPerS: config.gbs / stepS,
        computeS: metrics.rank(0, 0) / dp,
        commS: metrics.rank(0, 1) / dp,
        idleS: Math.max(0, stepS - (metrics.rank(0, 0) + metrics.rank(0, 1)) / dp),
        wire: decision.wire,
        compute: decision.compute,
        emulated: config.emulate,
        wireBytes: syncResult.wireBytes * dp,
        skipped,
        lossScale: scaler ? scaler.scale : null,
        energy: null,
      };
      position = { epoch, stepInEpoch: s + 1, globalStep: globalStep + 1 };
      const observation = { step: globalStep, skipped, loss: stepRecord.loss };
      if (await boundary.closeStep(stepRecord, observation, position)) {
        stopped = 'terminated';
        break;
      }
    }
    if (stopped === 'terminated') break;
    // The epoch is over (or the step budget is): flush lagging energy so the epoch's figures are whole.
    await boundary.drain();
    await buffersSynced(buffers, comm);
    const held = await evaluate(spec, dataset, world.rank, world.size, comm);
    lastEpochEval.loss = held.loss;
    lastEpochEval.accuracy = held.accuracy;
    const ended = await boundary.endEpoch(epoch, epochStart, held, position);
    position = ended.position;
    if (ended.overBudget) stopped = 'budget';
  }
  if (stopped === 'terminated') await boundary.terminate(position);
  return totals.summary({
    status: stopped,
    config,
    runtime,
    spec,
    dataset,
    ranks: world.size,
    gpus: world.size * Math.max(0, world.gpus.length),
    elapsedS: totals.elapsedS(),
    heldOut: lastEpochEval,
    position,
    totalSteps,
    policy: boundary.policySummary(),
  });
}

function computeGradients(spec: ModelSpec, batch: { x: tf.Tensor; labels: tf.Tensor }, variables: tf.Variable[]) {
  let correctTensor: tf.Scalar | undefined;
  let countedCount = 0;
  const { value, grads } = tf.variableGrads(() => {
    const logits = spec.model.apply(batch.x, { training: true }) as tf.Tensor;
    const out = lossAndCorrect(spec, logits, batch.labels);
    correctTensor = tf.keep(out.correct);
    countedCount = out.counted;
    return out.loss;
  }, variables);
  const result = { value: value.dataSync()[0], grads, correctCount: correctTensor!.dataSync()[0], countedCount };
  value.dispose();
  correctTensor!.dispose();
  return result;
}

/**
 * Batch-norm running statistics are computed from each rank's own shard, so they drift apart; before
 * evaluation and checkpoints every rank takes their average (PyTorch DDP instead broadcasts rank 0's).
 */
async function buffersSynced(buffers: FlatWeights, comm: Communicator | null): Promise<Float32Array> {
  buffers.download();
  if (comm && buffers.size > 0) {
    await comm.allreduce(buffers.values, { op: 'avg' });
    buffers.upload();
  }
  return buffers.values;
}

/** Every rank of `comm` (the data-parallel group) must hold bitwise identical weights; a difference is an error naming the ranks and step. */
export async function compareChecksums(world: TrainWorld, comm: Communicator | null, weights: FlatWeights, step: number): Promise<void> {
  if (!comm) return;
  const mine = new Int32Array([checksum(weights.values) | 0]);
  const all = new Int32Array(comm.size);
  await comm.allgather(mine, all);
  const reference = all[0];
  // Named by world rank: in a pipeline's data-parallel group, member i is not rank i.
  const differing = [...all].map((value, member) => ({ value, rank: comm.members[member].worldRank })).filter((entry) => entry.value !== reference).map((entry) => entry.rank);
  if (differing.length) {
    throw new JouleError('JOULE_WEIGHTS_DIVERGED', `weights diverged at step ${step}: rank(s) ${differing.join(', ')} differ from rank ${comm.members[0].worldRank} (checksums ${[...all].map((v) => (v >>> 0).toString(16)).join(', ')})`, { rank: world.rank, step, ranks: differing });
  }
}

function describeModel(spec: ModelSpec) {
  return { name: spec.name, task: spec.task, inputShape: spec.inputShape, numClasses: spec.numClasses, parameters: spec.parameters, flopsPerSample: spec.flopsPerSample };
}

function describeDataset(dataset: Dataset) {
  return { name: dataset.name, trainSize: dataset.trainSize, testSize: dataset.testSize, sampleShape: dataset.sampleShape, numClasses: dataset.numClasses, source: dataset.source, licence: dataset.licence };
}

export type { TfRuntime };
