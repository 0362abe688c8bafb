// The data-parallel training loop every rank runs: its shard of each global batch, forward/backward in
// tfjs, gradients averaged over the ranks at the policy's wire precision, the optimizer on identical
// master weights, and per-step time, loss, accuracy and energy recorded job-wide.
import * as tf from '@tensorflow/tfjs';
import type { Communicator } from '../comm/communicator';
import { JouleError } from '../errors';
import { LossScaler } from '../precision/loss-scaler';
import type { PrecisionDecision } from '../precision/policy';
import type { PowerWindows } from '../power/types';
import type { World } from '../world/types';
import { selectTfBackend, type TfRuntime } from './backend';
import { checkResumable, saveCheckpoint, type Checkpoint, type Position } from './checkpoint';
import { loadDataset, type Dataset } from './data';
import { evaluate } from './evaluate';
import { GradientSync, type SyncResult } from './gradients';
import { buildModel, lossAndCorrect, modelDefaults, type ModelSpec } from './models';
import { makeOptimizer } from './optimizer';
import { makePolicy } from './precision';
import { epochPermutation } from './rng';
import { ENERGY_FIELDS, ENERGY_LAG, StepWindows, stepEnergy, zeroEnergy, type EnergyFields, type StepEnergy } from './step-energy';
import { Totals, type EpochRecord, type StepRecord, type TrainSummary } from './records';
import type { TrainConfig } from './config';
import { checksum, FlatWeights } from './weights';
import { OnlineProjector, type OnlineProjection } from '../estimate/online';
import { defaultEnergyProfile } from '../power/profile';
import { energyProfileFromEnv } from '../power/world';

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

// Metrics buffer: loss sum, correct, counted, compute s, comm s, stop flag, then ENERGY_FIELDS of step − lag.
const METRIC_SLOTS = 6;

export async function train(world: TrainWorld, config: TrainConfig, hooks: TrainHooks = {}, resume?: Checkpoint): Promise<TrainSummary> {
  const startedAt = process.hrtime.bigint();
  const runtime = await selectTfBackend(config.tfBackend);
  // Synthetic data takes the model's sample shape and classes; real data sets have their own.
  const shape = config.dataset.startsWith('synthetic') ? modelDefaults(config.model) : undefined;
  const dataset = await loadDataset(config.dataset, { seed: config.seed, trainSize: config.trainSize ?? undefined, testSize: config.testSize ?? undefined, sampleShape: shape?.inputShape, numClasses: shape?.numClasses });
  const spec = buildModel(config.model, { seed: config.seed, inputShape: dataset.sampleShape, numClasses: dataset.numClasses });
  checkPairing(spec, dataset);
  const comm = world.size > 1 ? world.comm : null;
  const weights = new FlatWeights(spec.model.trainableWeights.map((w) => w.read() as tf.Variable));
  const buffers = new FlatWeights(spec.model.nonTrainableWeights.map((w) => w.read() as tf.Variable));
  const optimizer = makeOptimizer(config.optimizer, weights.size, config.learningRate);
  const stepsPerEpoch = Math.floor(dataset.trainSize / config.gbs);
  if (stepsPerEpoch < 1) throw new JouleError('JOULE_BAD_ARGUMENT', `the global batch (${config.gbs}) is larger than the training set (${dataset.trainSize} samples of ${dataset.name})`);
  const totalSteps = Math.min(config.epochs * stepsPerEpoch, config.maxSteps ?? Infinity);
  const policy = makePolicy(config.precision, { allowModelEnergy: config.allowModelEnergy, windowSteps: Math.max(5, Math.min(100, Math.floor(totalSteps / 4))) });
  let scaler: LossScaler | null = null;
  const totals = new Totals();
  let position: Position = { epoch: 0, stepInEpoch: 0, globalStep: 0 };

  if (resume) {
    checkResumable(resume, { strategy: 'dp', ranks: world.size }, weights.size, buffers.size);
    weights.values.set(resume.arrays.weights);
    buffers.values.set(resume.arrays.buffers);
    buffers.upload();
    optimizer.load({ name: resume.state.optimizer.name, step: resume.state.optimizer.step, m: resume.arrays.m, v: resume.arrays.v });
    policy.load(resume.state.policy);
    if (resume.state.lossScaler) scaler = new LossScaler(resume.state.lossScaler.options), scaler.load(resume.state.lossScaler);
    totals.load(resume.state.totals);
    position = resume.state.position;
  }

  // The first forward pass sees the emulated precision too.
  weights.upload(config.emulate ?? undefined);
  const sync = new GradientSync(weights.slots, weights.size, config.bucketBytes, comm);
  const variables = weights.variables;
  const dp = world.size;
  const power = config.instrument ? world.power : undefined;
  const pendingEnergy: { step: number; fields: Promise<EnergyFields> }[] = [];
  const metrics = new Float64Array(METRIC_SLOTS + ENERGY_FIELDS.length);
  const lastEpochEval: { loss: number | null; accuracy: number | null } = { loss: null, accuracy: null };
  const elapsedS = () => Number(process.hrtime.bigint() - startedAt) / 1e9 + totals.priorElapsedS;
  let stopped: TrainStatus = 'completed';
  let lastPowerW: number | null = null;
  const projector = config.predictAfter === null ? null : newProjector(config);
  let decisionsSeen = 0;
  const noteDecisions = () => {
    if (!('history' in policy)) return;
    const history = (policy as unknown as { history(): { step: number; event: string; from: string; to: string; reason: string }[] }).history();
    for (const entry of history.slice(decisionsSeen)) {
      record('precision', entry as unknown as Record<string, unknown>);
      if (world.rank === 0 && entry.event !== 'hold') world.log(`precision step ${entry.step}: ${entry.event} ${entry.from} → ${entry.to}: ${entry.reason}`);
    }
    decisionsSeen = history.length;
  };

  const record = (name: string, value: Record<string, unknown>) => {
    if (world.rank === 0 && config.instrument) world.stream(name, value);
  };
  record('train-config', { config, backend: runtime, model: describeModel(spec), dataset: describeDataset(dataset), resumedFrom: resume?.dir ?? null });

  const saveAt = async (pos: Position) => {
    const statistics = await buffersSynced(buffers, comm);
    if (world.rank !== 0) return;
    const state = optimizer.state();
    saveCheckpoint(world.runDir, {
      config,
      layout: { strategy: 'dp', ranks: world.size },
      position: pos,
      optimizer: { name: state.name, step: state.step },
      lossScaler: scaler ? scaler.state() : null,
      policy: policy.state(),
      totals: totals.state(elapsedS()),
    }, { weights: weights.values, buffers: statistics, m: state.m, v: state.v });
    world.log(`checkpoint at step ${pos.globalStep} (epoch ${pos.epoch + 1}, step ${pos.stepInEpoch} of ${stepsPerEpoch})`);
  };

  const observeEnergy = (step: number, sum: EnergyFields) => {
    const energy = stepEnergy(sum);
    totals.addEnergy(energy);
    const joules = energy.energyJ ?? energy.modelEnergyJ;
    const entry = totals.pendingSteps.get(step);
    if (entry) {
      totals.pendingSteps.delete(step);
      entry.record.energy = energy;
      if (joules !== null && entry.record.durationS > 0) lastPowerW = joules / entry.record.durationS;
      record('steps', entry.record as unknown as Record<string, unknown>);
      policy.observe({ ...entry.observation, ...policyEnergy(energy) });
      noteDecisions();
    }
  };

  for (let epoch = position.epoch; epoch < config.epochs && position.globalStep < totalSteps && stopped === 'completed'; epoch++) {
    const order = epochPermutation(dataset.trainSize, config.seed, epoch);
    const epochStart = { step: position.globalStep, timeS: elapsedS(), ...totals.snapshot() };
    for (let s = epoch === position.epoch ? position.stepInEpoch : 0; s < stepsPerEpoch && position.globalStep < totalSteps; s++) {
      const globalStep = position.globalStep;
      const decision = policy.decide(globalStep);
      scaler = scalerFor(decision, scaler);
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
            wireStats: policy.kind === 'adaptive' && decision.wire !== 'f32',
          });
          windows.endComm();
          commS += Number(process.hrtime.bigint() - t1) / 1e9;
        }
        tf.dispose(Object.values(grads));
      }
      // Every rank holds the same averaged gradients, so every rank takes the same decision here.
      let skipped = false;
      if (scaler) {
        const unscaled = scaler.unscale(sync.grads);
        skipped = scaler.update(unscaled).skipped;
      }
      if (!skipped) {
        optimizer.apply(weights.values, sync.grads);
        hooks.afterUpdate?.(globalStep, weights.values);
        weights.upload(config.emulate ?? undefined);
      }
      const energyOf = windows.end();
      pendingEnergy.push({ step: globalStep, fields: energyOf });

      // One small allreduce per step: the job's loss and accuracy, the time split, whether any rank was
      // asked to stop, and the energy of the step ENERGY_LAG back.
      metrics.fill(0);
      metrics.set([lossSum, correct, counted, computeS, commS, hooks.stopRequested?.() ? 1 : 0]);
      const lagged = pendingEnergy.length > ENERGY_LAG ? pendingEnergy.shift()! : null;
      if (lagged) {
        const fields = await lagged.fields;
        ENERGY_FIELDS.forEach((f, i) => (metrics[METRIC_SLOTS + i] = fields[f]));
      }
      if (comm) await comm.allreduce(metrics, { op: 'sum' });
      const stepS = Number(process.hrtime.bigint() - stepStart) / 1e9;
      const stepRecord: StepRecord = {
        step: globalStep,
        epoch: epoch + 1,
        loss: metrics[0] / metrics[2],
        accuracy: spec.task === 'classification' || metrics[2] > 0 ? metrics[1] / metrics[2] : null,
        samples: config.gbs,
        durationS: stepS,
        samplesPerS: config.gbs / stepS,
        computeS: metrics[3] / dp,
        commS: metrics[4] / dp,
        idleS: Math.max(0, stepS - (metrics[3] + metrics[4]) / dp),
        wire: decision.wire,
        compute: decision.compute,
        emulated: config.emulate,
        wireBytes: syncResult.wireBytes * dp,
        skipped,
        lossScale: scaler ? scaler.scale : null,
        energy: null,
      };
      totals.addStep(stepRecord);
      totals.pendingSteps.set(globalStep, {
        record: stepRecord,
        observation: { step: globalStep, durationS: stepS, wireStats: syncResult.stats ?? undefined, skipped, loss: stepRecord.loss },
      });
      if (lagged) observeEnergy(lagged.step, fieldsFrom(metrics));
      position = { epoch, stepInEpoch: s + 1, globalStep: globalStep + 1 };
      if (world.rank === 0) hooks.onProgress?.({ kind: 'step', step: stepRecord, totalSteps, epochs: config.epochs, stepsPerEpoch, elapsedS: elapsedS(), energySoFar: totals.energySoFar(), powerW: lastPowerW });

      if (metrics[5] > 0) {
        stopped = 'terminated';
        break;
      }
      if (config.checkpoint?.unit === 'steps' && position.globalStep % config.checkpoint.every === 0) await saveAt(position);
      if (config.instrument && config.checksum.unit === 'steps' && position.globalStep % config.checksum.every === 0) await compareChecksums(world, comm, weights, position.globalStep);
    }
    if (stopped === 'terminated') break;
    // The epoch is over (or the step budget is): flush lagging energy so the epoch's figures are whole.
    await drainEnergy(pendingEnergy, comm, metrics, observeEnergy);
    await buffersSynced(buffers, comm);
    const held = await evaluate(spec, dataset, world.rank, world.size, comm);
    lastEpochEval.loss = held.loss;
    lastEpochEval.accuracy = held.accuracy;
    const epochRecord = totals.epochRecord(epoch + 1, epochStart, elapsedS(), held);
    record('epochs', epochRecord as unknown as Record<string, unknown>);
    const projection = projector ? project(projector, epochRecord) : null;
    if (projection) record('projections', projection as unknown as Record<string, unknown>);
    if (world.rank === 0) hooks.onProgress?.({ kind: 'epoch', epoch: epochRecord, totalSteps, epochs: config.epochs, stepsPerEpoch, elapsedS: elapsedS(), energySoFar: totals.energySoFar(), powerW: lastPowerW, projection });
    // Rank 0's projection decides for everyone (epoch durations differ a little between ranks).
    if (config.energyBudgetJ !== null && (await overBudget(projection, comm)) && epoch + 1 < config.epochs) {
      stopped = 'budget';
      world.log(`the projected energy ${projection?.energyJ.toFixed(0)} J (${projection?.source}) exceeds the budget of ${config.energyBudgetJ} J: stopping after epoch ${epoch + 1}`);
    }
    if (config.instrument && config.checksum.unit === 'epochs' && (epoch + 1) % config.checksum.every === 0) await compareChecksums(world, comm, weights, position.globalStep);
    if (position.stepInEpoch >= stepsPerEpoch) position = { epoch: epoch + 1, stepInEpoch: 0, globalStep: position.globalStep };
    if (stopped === 'budget' || (config.checkpoint?.unit === 'epochs' && (epoch + 1) % config.checkpoint.every === 0)) await saveAt(position);
  }
  if (stopped === 'terminated') {
    await drainEnergy(pendingEnergy, comm, metrics, observeEnergy);
    await saveAt(position);
  }
  noteDecisions();
  const history = 'history' in policy ? (policy as unknown as { history(): unknown[] }).history() : [];
  return totals.summary({
    status: stopped,
    config,
    runtime,
    spec,
    dataset,
    ranks: world.size,
    gpus: world.size * Math.max(0, world.gpus.length),
    elapsedS: elapsedS(),
    heldOut: lastEpochEval,
    position,
    totalSteps,
    policy: { kind: policy.kind, history },
  });
}

function newProjector(config: TrainConfig): OnlineProjector {
  const profile = energyProfileFromEnv() ?? defaultEnergyProfile;
  return new OnlineProjector({
    plannedEpochs: config.epochs,
    predictAfter: config.predictAfter ?? 1,
    budgetJ: config.energyBudgetJ ?? undefined,
    pue: profile.pue,
    carbonGPerKWh: profile.carbonGPerKWh,
  });
}

/** Feeds the epoch to the projector: measured energy when the epoch was measured, else the model's, never both. */
function project(projector: OnlineProjector, epoch: EpochRecord): OnlineProjection | null {
  const energyJ = epoch.energyJ ?? epoch.modelEnergyJ;
  if (energyJ === null || !(epoch.durationS > 0)) return null;
  projector.observeEpoch({ epoch: epoch.epoch, durationS: epoch.durationS, energyJ, source: epoch.energySource });
  return projector.project();
}

async function overBudget(projection: OnlineProjection | null, comm: Communicator | null): Promise<boolean> {
  const flag = new Float64Array([projection?.overBudget ? 1 : 0]);
  if (comm) await comm.broadcast(flag, 0);
  return flag[0] > 0;
}

function checkPairing(spec: ModelSpec, dataset: Dataset): void {
  if (spec.task !== dataset.task) {
    throw new JouleError('JOULE_BAD_ARGUMENT', `model ${spec.name} is a ${spec.task} model but data set ${dataset.name} is for ${dataset.task}; e.g. --model bert-mini --dataset brown, or --model resnet-mini --dataset mnist`);
  }
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

function scalerFor(decision: PrecisionDecision, current: LossScaler | null): LossScaler | null {
  if (!decision.lossScaling) return null;
  return current ?? new LossScaler(decision.lossScaling);
}

function policyEnergy(energy: StepEnergy): { energyJ?: number; energySource?: 'nvml' | 'rapl' | 'model' } {
  if (energy.energyJ !== null) return { energyJ: energy.energyJ, energySource: energy.source === 'rapl' ? 'rapl' : 'nvml' };
  if (energy.modelEnergyJ !== null) return { energyJ: energy.modelEnergyJ, energySource: 'model' };
  return {};
}

function fieldsFrom(metrics: Float64Array): EnergyFields {
  const fields = zeroEnergy();
  ENERGY_FIELDS.forEach((f, i) => (fields[f] = metrics[METRIC_SLOTS + i]));
  return fields;
}

async function drainEnergy(pending: { step: number; fields: Promise<EnergyFields> }[], comm: Communicator | null, metrics: Float64Array, observe: (step: number, sum: EnergyFields) => void): Promise<void> {
  // Every rank has the same number of pending steps (the same steps ran everywhere).
  while (pending.length) {
    const { step, fields } = pending.shift()!;
    const mine = await fields;
    metrics.fill(0);
    ENERGY_FIELDS.forEach((f, i) => (metrics[METRIC_SLOTS + i] = mine[f]));
    if (comm) await comm.allreduce(metrics, { op: 'sum' });
    observe(step, fieldsFrom(metrics));
  }
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
