// The pipeline (pp) and data × pipeline (hybrid) training loop: rank d·K + s runs stage s of pipeline d;
// activations go forward and gradients back over native send/recv, each stage's gradients are averaged
// within its data-parallel group, and every stage's time, waits, bubble and energy are recorded per step.
import * as tf from '@tensorflow/tfjs';
import type { Communicator } from '../../comm/communicator';
import { JouleError } from '../../errors';
import { pointLatest, restore, saveShard, snapshot, type Checkpoint, type Layout, type Position } from '../checkpoint';
import type { Parallel, TrainConfig } from '../config';
import type { PrecisionDecision } from '../../precision/policy';
import { GradientSync } from '../gradients';
import { makeOptimizer } from '../optimizer';
import { Totals, type EpochRecord, type PipelineSummary, type StepRecord, type TrainSummary } from '../records';
import { epochPermutation } from '../rng';
import { setUpTraining } from '../setup';
import { Metrics, StepBoundary } from '../step-boundary';
import { ENERGY_FIELDS, StepWindows, stepEnergy, zeroEnergy } from '../step-energy';
import { compareChecksums, type TrainHooks, type TrainStatus, type TrainWorld } from '../trainer';
import { FlatWeights } from '../weights';
import { Inbox, makeLinks, messageTag } from './links';
import { stageOps, theoreticalBubble } from './schedule';
import { evaluatePipeline } from './evaluate';
import { planSplit } from './split';
import { EnergySplitTotals, splitByTime, type StageEnergySplit } from './energy-split';
import { Stage } from './stage';

// Metrics: job slots loss sum, correct, counted; each rank's own region: its RANK_TIMES (and its energy).
const RANK_TIMES = ['computeS', 'recvWaitS', 'sendWaitS', 'syncS', 'sentBytes'] as const;
const METRICS_LAYOUT = { jobSlots: 3, rankSlots: RANK_TIMES.length, perRank: true };

/** One stage's share of a step (times averaged over its data-parallel replicas, energy summed). */
export interface StageStepRecord {
  stage: number;
  computeS: number;
  recvWaitS: number;
  sendWaitS: number;
  syncS: number;
  /** The step's seconds this stage did not compute, and that as a share of the step. */
  bubbleS: number;
  bubble: number;
  energy: ReturnType<typeof stepEnergy> | null;
  /** The stage's energy split into compute, waits and idle by time shares (energy-split.ts), once known. */
  energySplit: StageEnergySplit | null;
}

export async function trainPipeline(world: TrainWorld, config: TrainConfig, parallel: Parallel, hooks: TrainHooks = {}, resume?: Checkpoint): Promise<TrainSummary> {
  const totals = new Totals();
  const { dp, stages: K, microBatches: M } = parallel;
  if (world.size !== dp * K) throw new JouleError('JOULE_BAD_ARGUMENT', `--strategy ${parallel.strategy} with ${dp} × ${K} needs ${dp * K} ranks; the job has ${world.size}`);
  const replica = Math.floor(world.rank / K);
  const s = world.rank % K;
  const { runtime, dataset, spec, stepsPerEpoch, totalSteps } = await setUpTraining(config);
  const split = planSplit(spec, K, parallel.split);
  const stage = new Stage(spec, split.stages[s], s === 0, s === K - 1);
  const layout: Layout = { strategy: parallel.strategy, ranks: world.size, dp, stages: K, split: split.cuts };
  const weights = new FlatWeights(stage.trainable);
  const statistics = new FlatWeights(stage.statistics);
  const optimizer = makeOptimizer(config.optimizer, weights.size, config.learningRate);
  let position: Position = { epoch: 0, stepInEpoch: 0, globalStep: 0 };

  // Collective set-up, the same calls on every rank: the pipelines, the data-parallel groups, the links.
  const pipe = (await world.comm.split(replica, s))!;
  const group = (await world.comm.split(s, replica))!;
  const dpComm = dp > 1 ? group : null;
  const links = await makeLinks(pipe, s, K);
  const sync = new GradientSync(weights.slots, weights.size, config.bucketBytes, dpComm);
  const power = config.instrument ? world.power : undefined;
  const exitAt = hooks.exitAt;
  const bubbleTheory = theoreticalBubble(K, M);
  let stopped: TrainStatus = 'completed';
  const lastEval: { loss: number | null; accuracy: number | null } = { loss: null, accuracy: null };
  const describeSplit = split.stages.map((p, i) => ({ stage: i, layers: [p.first, p.end], firstLayer: spec.layers[p.first].name, lastLayer: spec.layers[p.end - 1].name, flopsPerSample: p.flopsPerSample, parameters: p.parameters }));
  const pipeline: PipelineSummary = { strategy: parallel.strategy as PipelineSummary['strategy'], dp, stages: K, microBatches: M, schedule: parallel.schedule, split: { mode: split.mode, cuts: split.cuts, stages: describeSplit }, bubbleTheory, measured: null };
  // Per-stage compute seconds summed over the steps after this run's first, and those steps' seconds.
  const measured = { steps: 0, stepS: 0, computeS: new Array<number>(K).fill(0) };
  // Per stage over the current epoch: seconds computing and idle, and joules (measured and modelled apart).
  const newEpochStages = () => Array.from({ length: K }, (_, stage) => ({ stage, computeS: 0, bubbleS: 0, energyJ: 0, modelEnergyJ: 0 }));
  let epochStages = newEpochStages();
  const energySplit = new EnergySplitTotals(K);
  // The wire precision acts on the data-parallel gradient allreduce; activations and gradients between stages
  // stay f32 (README: Pipeline and hybrid parallelism, Precision). One pipeline has no such allreduce.
  if (world.rank === 0 && dp === 1 && config.precision !== 'fp32') world.log(`--precision ${config.precision} with one pipeline: there is no data-parallel gradient allreduce for the wire precision to act on (activations and gradients between stages travel as f32)`);
  if (world.rank === 0) world.log(`pipeline: ${dp} × ${K} ranks, ${M} micro-batches (${parallel.schedule}), stages ${describeSplit.map((d) => `[${d.layers.join('–')}) ${(d.flopsPerSample / 1e6).toFixed(1)} MFLOP`).join(', ')}; GPipe bubble (K−1)/(M+K−1) = ${bubbleTheory.toFixed(3)}`);

  const saveAt = async (pos: Position) => {
    statistics.download();
    const { state, arrays } = snapshot(pos, layout, { config, optimizer, boundary, totals, weights: weights.values, statistics: statistics.values });
    saveShard(world.runDir, world.rank, state, arrays);
    await world.comm.barrier();
    if (world.rank === 0) {
      pointLatest(world.runDir, pos.globalStep);
      world.log(`checkpoint at step ${pos.globalStep} (every rank's shard)`);
    }
  };

  // The job's energy of a step, and each stage's share from its own ranks' windows.
  const pipelineEnergy = (metrics: Metrics, stepRecord: StepRecord | undefined) => {
    const perStage = Array.from({ length: K }, zeroEnergy);
    for (let r = 0; r < world.size; r++) {
      const fields = metrics.energy(r);
      for (const f of ENERGY_FIELDS) perStage[r % K][f] += fields[f];
    }
    const stages = (stepRecord as (StepRecord & { stages: StageStepRecord[] }) | undefined)?.stages;
    stages?.forEach((st, i) => {
      st.energy = { ...stepEnergy(perStage[i]), computeJ: null, commJ: null };
      st.energySplit = splitByTime(st, st.energy, stepRecord!.durationS);
      energySplit.add(i, st.energySplit);
      epochStages[i].energyJ += st.energy.energyJ ?? 0;
      epochStages[i].modelEnergyJ += st.energy.modelEnergyJ ?? 0;
    });
    // No compute/communication windows inside a pipeline step (they interleave per micro-batch): no split.
    return { ...stepEnergy(metrics.energySum()), computeJ: null, commJ: null };
  };
  const boundary = new StepBoundary({
    world,
    comm: world.comm,
    config,
    hooks,
    totals,
    totalSteps,
    stepsPerEpoch,
    layout: METRICS_LAYOUT,
    stepEnergy: pipelineEnergy,
    save: saveAt,
    checksum: (step) => compareChecksums(world, dpComm, weights, step),
  });
  boundary.record('train-config', { config, backend: runtime, model: { name: spec.name, parameters: spec.parameters, flopsPerSample: spec.flopsPerSample }, pipeline, resumedFrom: resume?.dir ?? null });
  if (resume) position = restore(resume, layout, { weights, statistics, optimizer, boundary, totals });
  // The first forward pass sees the emulated precision too.
  weights.upload(config.emulate ?? undefined);

  const ops = stageOps(parallel.schedule, s, K, M);
  for (let epoch = position.epoch; epoch < config.epochs && position.globalStep < totalSteps && stopped === 'completed'; epoch++) {
    const order = epochPermutation(dataset.trainSize, config.seed, epoch);
    const epochStart = boundary.epochStart(position);
    for (let step = epoch === position.epoch ? position.stepInEpoch : 0; step < stepsPerEpoch && position.globalStep < totalSteps; step++) {
      const globalStep = position.globalStep;
      if (exitAt !== undefined && exitAt === globalStep) process.exit(3);
      const decision = boundary.decide(globalStep);
      const scaler = boundary.scaler;
      const stepStart = process.hrtime.bigint();
      const windows = new StepWindows(power);
      world.setActivity(`pipeline step ${globalStep}, stage ${s}`);
      const times = { computeS: 0, recvWaitS: 0, sendWaitS: 0, syncS: 0, sentBytes: 0 };
      let lossSum = 0;
      let correct = 0;
      let counted = 0;
      const sends: Promise<void>[] = [];
      // Stashed per micro-batch between its forward and its backward: the stage input, or (last stage) dx.
      const stash = new Map<number, tf.Tensor | Float32Array | null>();
      // Sends are not awaited (the stage computes on): each goes to its link's native queue at once, which
      // keeps their order. Chaining them on promises instead held every send back until the stage next
      // awaited, which in GPipe's forward phase of the first stage is after its last forward.
      const send = (comm: Communicator, data: Float32Array, peer: number, tag: number) => {
        const sent = comm.send(data, peer, tag);
        sent.catch(() => undefined); // awaited below; this only keeps an early failure from being "unhandled"
        sends.push(sent);
        times.sentBytes += data.byteLength;
      };
      const activationsIn = stage.first ? null : new Inbox(links.activationsIn!, s - 1, config.lbs * stage.inputSize, ops.filter((op) => op.kind === 'F').map((op) => messageTag('activations', op.micro)));
      const gradientsIn = stage.last ? null : new Inbox(links.gradientsIn!, s + 1, config.lbs * stage.outputSize, ops.filter((op) => op.kind === 'B').map((op) => messageTag('gradients', op.micro)));
      const recv = async (inbox: Inbox) => {
        const t0 = process.hrtime.bigint();
        const buffer = await inbox.take();
        times.recvWaitS += Number(process.hrtime.bigint() - t0) / 1e9;
        return buffer;
      };
      const computed = <T>(work: () => T): T => {
        const t0 = process.hrtime.bigint();
        const result = work();
        times.computeS += Number(process.hrtime.bigint() - t0) / 1e9;
        return result;
      };
      let backwards = 0;
      for (const op of ops) {
        const indices = Array.from(order.subarray(step * config.gbs + op.micro * config.lbs * dp + replica * config.lbs, step * config.gbs + op.micro * config.lbs * dp + (replica + 1) * config.lbs));
        if (op.kind === 'F') {
          let x: tf.Tensor | undefined;
          let labels: tf.Tensor | null = null;
          // Building the batch and the input tensor is the stage's work too: it counts as compute, not idle.
          if (stage.first || stage.last) {
            const batch = computed(() => dataset.batch('train', indices));
            if (stage.first) x = batch.x;
            else tf.dispose(batch.x);
            if (stage.last) labels = batch.labels;
            else tf.dispose(batch.labels);
          }
          if (!stage.first) {
            const received = await recv(activationsIn!);
            x = computed(() => tf.tensor(received, [config.lbs, ...stage.inputShape]));
          }
          if (stage.last) {
            const out = computed(() => stage.lossAndBackward(x!, labels!));
            lossSum += out.loss * out.counted;
            correct += out.correct;
            counted += out.counted;
            computed(() => sync.add(out.grads, backwards === 0));
            backwards += 1;
            tf.dispose(out.grads);
            tf.dispose([x!, labels!]);
            stash.set(op.micro, out.dx);
          } else {
            send(links.activationsOut!, computed(() => stage.forwardOut(x!)), s + 1, messageTag('activations', op.micro));
            stash.set(op.micro, x!);
          }
        } else {
          const held = stash.get(op.micro);
          stash.delete(op.micro);
          if (stage.last) {
            if (!stage.first) send(links.gradientsOut!, held as Float32Array, s - 1, messageTag('gradients', op.micro));
            continue;
          }
          const x = held as tf.Tensor;
          const received = await recv(gradientsIn!);
          const dy = computed(() => tf.tensor(received, [config.lbs, ...stage.outputShape]));
          const out = computed(() => stage.backward(x, dy));
          computed(() => sync.add(out.grads, backwards === 0));
          backwards += 1;
          tf.dispose([...out.grads, x, dy]);
          if (out.dx) send(links.gradientsOut!, out.dx, s - 1, messageTag('gradients', op.micro));
        }
      }
      const t0 = process.hrtime.bigint();
      await Promise.all(sends);
      const t1 = process.hrtime.bigint();
      times.sendWaitS = Number(t1 - t0) / 1e9;
      // The mean over the mini-batch: the sum of M micro-batch means ÷ M, then the average over the replicas at
      // the policy's wire precision (under the loss scale for f16).
      const synced = await sync.addAndSync([], false, {
        preScale: (scaler ? scaler.scale : 1) / M,
        wire: decision.wire,
        wireStats: boundary.policy.kind === 'adaptive' && decision.wire !== 'f32',
        overflowSkips: scaler !== null,
      });
      times.syncS = Number(process.hrtime.bigint() - t1) / 1e9;
      times.sentBytes += synced.wireBytes;
      // Each stage holds its own gradients: an overflow in any stage skips the step in all of them.
      const skipped = await boundary.skipStep(sync.grads, world.size > 1 ? world.comm : null);
      if (!skipped) {
        optimizer.apply(weights.values, sync.grads);
        hooks.afterUpdate?.(globalStep, weights.values);
        weights.upload(config.emulate ?? undefined);
      }
      const metrics = await boundary.exchange(globalStep, stepStart, windows.end(), [lossSum, correct, counted], RANK_TIMES.map((k) => times[k]), synced.stats);
      const stepS = Number(process.hrtime.bigint() - stepStart) / 1e9;
      const stepRecord = stepRecordOf(metrics, { globalStep, epoch, stepS, config, K, world: world.size, bubbleTheory, decision, skipped, lossScale: scaler ? scaler.scale : null });
      stepRecord.stages.forEach((st) => {
        epochStages[st.stage].computeS += st.computeS;
        epochStages[st.stage].bubbleS += st.bubbleS;
      });
      if (globalStep > (resume?.state.position.globalStep ?? 0)) {
        measured.steps += 1;
        measured.stepS += stepS;
        stepRecord.stages.forEach((st) => (measured.computeS[st.stage] += st.computeS));
      }
      position = { epoch, stepInEpoch: step + 1, globalStep: globalStep + 1 };
      if (await boundary.closeStep(stepRecord, { step: globalStep, skipped, loss: stepRecord.loss }, position)) {
        stopped = 'terminated';
        break;
      }
    }
    if (stopped === 'terminated') break;
    await boundary.drain();
    const held = await evaluatePipeline(spec, dataset, stage, s, replica, dp, links, world.comm);
    lastEval.loss = held.loss;
    lastEval.accuracy = held.accuracy;
    // Energy per stage: measured where its ranks' windows measured, else null; the model's figure apart.
    const stagesOf = (epochRecord: EpochRecord) => epochStages.map((st) => ({ ...st, energyJ: epochRecord.energyJ === null ? null : st.energyJ, modelEnergyJ: st.modelEnergyJ > 0 ? st.modelEnergyJ : null }));
    const ended = await boundary.endEpoch(epoch, epochStart, held, position, (epochRecord) => ({ strategy: parallel.strategy, stages: stagesOf(epochRecord) }));
    epochStages = newEpochStages();
    position = ended.position;
    if (ended.overBudget) stopped = 'budget';
  }
  if (stopped === 'terminated') await boundary.terminate(position);
  const summary = totals.summary({
    status: stopped,
    config,
    runtime,
    spec,
    dataset,
    ranks: world.size,
    gpus: world.size * Math.max(0, world.gpus.length),
    elapsedS: totals.elapsedS(),
    heldOut: lastEval,
    position,
    totalSteps,
    policy: boundary.policySummary(),
  });
  if (measured.steps > 0) {
    const stepS = measured.stepS / measured.steps;
    pipeline.measured = { steps: measured.steps, stepS, stages: measured.computeS.map((c, stage) => ({ stage, computeS: c / measured.steps, bubble: Math.max(0, 1 - c / measured.steps / stepS) })) };
  }
  // Where each stage's joules went over this run's steps (energy-split.ts: an attribution by time shares).
  pipeline.energySplit = { basis: 'time-share', stages: energySplit.stages };
  return { ...summary, pipeline };
}

function stepRecordOf(metrics: Metrics, run: { globalStep: number; epoch: number; stepS: number; config: TrainConfig; K: number; world: number; bubbleTheory: number; decision: PrecisionDecision; skipped: boolean; lossScale: number | null }): StepRecord & { stages: StageStepRecord[]; bubbleTheory: number } {
  const { config, K, world, stepS } = run;
  const dp = world / K;
  const slot = (r: number, key: (typeof RANK_TIMES)[number]) => metrics.rank(r, RANK_TIMES.indexOf(key));
  const sumOver = (ranks: number[], key: (typeof RANK_TIMES)[number]) => ranks.reduce((t, r) => t + slot(r, key), 0);
  const all = [...Array(world).keys()];
  const stages = Array.from({ length: K }, (_, st) => {
    const ranks = all.filter((r) => r % K === st);
    const computeS = sumOver(ranks, 'computeS') / dp;
    return {
      stage: st,
      computeS,
      recvWaitS: sumOver(ranks, 'recvWaitS') / dp,
      sendWaitS: sumOver(ranks, 'sendWaitS') / dp,
      syncS: sumOver(ranks, 'syncS') / dp,
      bubbleS: Math.max(0, stepS - computeS),
      bubble: stepS > 0 ? Math.max(0, 1 - computeS / stepS) : 0,
      energy: null,
      energySplit: null,
    };
  });
  const computeS = sumOver(all, 'computeS') / world;
  const commS = (sumOver(all, 'recvWaitS') + sumOver(all, 'sendWaitS') + sumOver(all, 'syncS')) / world;
  return {
    step: run.globalStep,
    epoch: run.epoch + 1,
    loss: metrics.job(0) / metrics.job(2),
    accuracy: metrics.job(2) > 0 ? metrics.job(1) / metrics.job(2) : null,
    samples: config.gbs,
    durationS: stepS,
    samplesPerS: config.gbs / stepS,
    computeS,
    commS,
    idleS: Math.max(0, stepS - computeS - commS),
    wire: run.decision.wire,
    compute: run.decision.compute,
    emulated: config.emulate,
    wireBytes: sumOver(all, 'sentBytes'),
    skipped: run.skipped,
    lossScale: run.lossScale,
    energy: null,
    stages,
    bubbleTheory: run.bubbleTheory,
  };
}
