// joule train --strategy pp|hybrid end to end: a 2-stage pipeline (GPipe and 1F1B) gives the loss curve of
// one rank at the same global batch, a 2 × 2 grid's replicas hold equal weights, a dead stage ends the job
// with its rank named, bad splits and layout changes on resume get coded errors. Small runs: seconds each.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { joule } from '../helpers/run';
import { readSteps, trainThenTerminate } from '../helpers/train-run';
import { assertValidRunDirsUnder } from '../helpers/run-schema';
import { buildModel } from '../../src/train/models';
import { stageOps } from '../../src/train/pipeline/schedule';
import { cutPoints, planSplit } from '../../src/train/pipeline/split';

interface Split {
  computeJ: number;
  waitJ: number;
  idleJ: number;
}

interface StageLine {
  stage: number;
  computeS: number;
  recvWaitS: number;
  sendWaitS: number;
  syncS: number;
  bubble: number;
  energy: { modelEnergyJ: number | null; source: string } | null;
  energySplit: (Split & { basis: string; source: string }) | null;
}

interface StepLine {
  step: number;
  loss: number;
  stages?: StageLine[];
  bubbleTheory?: number;
}

const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'joule-pipeline-'));
const noPowercap = fs.mkdtempSync(path.join(os.tmpdir(), 'joule-no-powercap-'));
// No GPU library and an empty powercap tree: energy comes from the model on any machine.
const pinned = { JOULE_NVML_LIBRARY: path.join(scratch, 'no-nvml.so'), JOULE_POWERCAP_ROOT: noPowercap, JOULE_TEST_DIVERGE: '', JOULE_TEST_STAGE_EXIT: '' };
const small = ['--dataset', 'synthetic-images', '--train-size', '64', '--test-size', '32', '--json'];
let runs = 0;

async function train(args: string[], env: NodeJS.ProcessEnv = {}) {
  const dir = path.join(scratch, `run-${++runs}`);
  const result = await joule(['train', ...small, '--run-dir', dir, ...args], { ...pinned, ...env }, { timeoutMs: 120_000 });
  assertValidRunDirsUnder(dir);
  return { ...result, dir };
}

const steps = (dir: string) => readSteps<StepLine>(dir);

function assertClose(a: number[], b: number[], tolerance: number, what: string): void {
  assert.equal(a.length, b.length, `${what}: ${a.length} vs ${b.length} steps`);
  a.forEach((x, i) => assert.ok(Math.abs(x - b[i]) <= tolerance * Math.max(1, Math.abs(b[i])), `${what}: step ${i} ${x} vs ${b[i]}`));
}

function weightsOf(shard: string): Buffer {
  const state = JSON.parse(fs.readFileSync(path.join(shard, 'state.json'), 'utf8'));
  const weights = state.arrays.find((a: { name: string }) => a.name === 'weights');
  return fs.readFileSync(path.join(shard, 'tensors.bin')).subarray(0, weights.length * 4);
}

describe('pipeline stages and schedules', () => {
  it('cuts resnet-mini only where one tensor crosses, and balances the FLOPs better than any other cut', () => {
    const spec = buildModel('resnet-mini', { seed: 1 });
    const cuts = [...cutPoints(spec.model).keys()];
    // Inside stage1_block1 (layers 3 … 9: conv1, bn1, relu1, conv2, bn2, add, relu2) the block input and
    // the residual branch both cross: no cut there but after its add.
    for (let c = 4; c <= 8; c++) assert.ok(!cuts.includes(c), `cut ${c} inside a residual block`);
    assert.ok(cuts.includes(3) && cuts.includes(9));
    const chosen = planSplit(spec, 2, 'flops');
    const largest = (cut: number) => Math.max(...planSplit(spec, 2, String(cut)).stages.map((st) => st.flopsPerSample));
    assert.equal(Math.max(...chosen.stages.map((st) => st.flopsPerSample)), Math.min(...cuts.map(largest)));
    assert.equal(chosen.stages.reduce((t, st) => t + st.flopsPerSample, 0), spec.flopsPerSample);
    assert.deepEqual([chosen.stages[0].first, chosen.stages[0].end, chosen.stages[1].first, chosen.stages[1].end], [0, chosen.cuts[0], chosen.cuts[0], spec.layers.length]);
  });

  it('runs every micro-batch forward then backward once per stage; 1F1B holds at most K − s inputs', () => {
    const K = 4;
    const M = 6;
    for (const schedule of ['gpipe', '1f1b'] as const) {
      for (let s = 0; s < K; s++) {
        const ops = stageOps(schedule, s, K, M);
        let held = 0;
        let most = 0;
        const seen = new Set<string>();
        for (const op of ops) {
          if (op.kind === 'B') assert.ok(seen.has(`F${op.micro}`), `${schedule} stage ${s}: B${op.micro} before its F`);
          seen.add(`${op.kind}${op.micro}`);
          held += op.kind === 'F' ? 1 : -1;
          most = Math.max(most, held);
        }
        assert.equal(seen.size, 2 * M);
        assert.deepEqual(ops.filter((o) => o.kind === 'B').map((o) => o.micro), [...Array(M).keys()], 'backwards in micro-batch order');
        if (schedule === '1f1b' || s === K - 1) assert.ok(most <= K - s, `${schedule} stage ${s} holds ${most}`);
        else assert.equal(most, M);
      }
    }
  });
});

describe('joule train --strategy pp / hybrid', function () {
  this.timeout(240_000);
  after(() => {
    fs.rmSync(scratch, { recursive: true, force: true });
    fs.rmSync(noPowercap, { recursive: true, force: true });
  });

  // resnet-mini: batch norm in both stages, so this also checks per-micro-batch statistics equal
  // one rank's accumulation steps (each micro-batch normalised by its own statistics).
  const model = ['--model', 'resnet-mini', '--lbs', '4', '--epochs', '1'];
  let single: StepLine[] = [];
  before(async () => {
    const r = await train([...model, '-n', '1', '--gbs', '16']);
    assert.equal(r.code, 0, r.stderr);
    single = steps(r.dir);
    assert.equal(single.length, 4);
  });

  for (const schedule of ['gpipe', '1f1b']) {
    it(`2 stages (${schedule}) give the loss curve of 1 rank with 4 accumulation steps`, async () => {
      const r = await train([...model, '-n', '2', '--strategy', 'pp', '--stages', '2', '--micro-batches', '4', '--schedule', schedule]);
      assert.equal(r.code, 0, r.stderr);
      const summary = JSON.parse(r.stdout);
      assert.equal(summary.gbs, 16);
      assert.equal(summary.pipeline.strategy, 'pp');
      assert.equal(summary.pipeline.stages, 2);
      assert.equal(summary.pipeline.split.stages.length, 2);
      assert.equal(summary.pipeline.split.stages[1].layers[0], summary.pipeline.split.cuts[0]);
      const lines = steps(r.dir);
      assertClose(lines.map((l) => l.loss), single.map((l) => l.loss), 1e-5, `pp ${schedule} vs 1 rank`);
      for (const line of lines) {
        assert.equal(line.stages?.length, 2);
        assert.equal(line.bubbleTheory, 1 / 5);
        assert.ok(line.stages!.every((st) => st.computeS > 0 && st.bubble >= 0 && st.bubble <= 1 && st.energy?.source === 'model' && (st.energy.modelEnergyJ ?? 0) > 0));
        // Each stage's joules split into compute, waits and idle by time shares, labelled with the figure's source.
        for (const st of line.stages!) {
          const split = st.energySplit!;
          assert.equal(split.basis, 'time-share');
          assert.equal(split.source, 'model');
          assert.ok(split.computeJ > 0 && split.waitJ >= 0 && split.idleJ >= 0, JSON.stringify(split));
          const sum = split.computeJ + split.waitJ + split.idleJ;
          assert.ok(Math.abs(sum - st.energy!.modelEnergyJ!) <= 1e-9 * sum, `stage ${st.stage}: ${sum} J split vs ${st.energy!.modelEnergyJ} J`);
          const stepS = (line as StepLine & { durationS: number }).durationS;
          assert.ok(Math.abs(split.computeJ / sum - Math.min(1, st.computeS / stepS)) < 1e-9, 'compute share of the joules = compute share of the step');
        }
      }
      // The summary sums the splits per stage and source over the run.
      for (const stage of [0, 1]) {
        const model = summary.pipeline.energySplit.stages[stage].bySource.model as Split & { steps: number };
        assert.equal(model.steps, lines.length);
        const total = (key: keyof Split) => lines.reduce((t, l) => t + l.stages![stage].energySplit![key], 0);
        for (const key of ['computeJ', 'waitJ', 'idleJ'] as const) assert.ok(Math.abs(model[key] - total(key)) <= 1e-9 * Math.max(1, total(key)), `${key} of stage ${stage}`);
      }
      const [epoch] = fs.readFileSync(path.join(r.dir, 'epochs.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
      assert.equal(epoch.strategy, 'pp');
      assert.equal(epoch.stages.length, 2);
      const stageModelJ = epoch.stages.reduce((t: number, st: { modelEnergyJ: number }) => t + st.modelEnergyJ, 0);
      assert.ok(Math.abs(stageModelJ - epoch.modelEnergyJ) <= 1e-9 * epoch.modelEnergyJ, `stages ${stageModelJ} J vs epoch ${epoch.modelEnergyJ} J`);
      assert.ok(epoch.stages.every((st: { energyJ: number | null }) => st.energyJ === null), 'nothing measured here');
      assert.ok(summary.heldOut.accuracy !== null, 'held-out evaluation ran down the pipeline');
    });
  }

  it('hybrid 2 × 2 runs to the end, the replicas of each stage hold the same weights, and it resumes from its shards', async () => {
    const hybrid = [...model, '-n', '4', '--strategy', 'hybrid', '--dp', '2', '--stages', '2', '--micro-batches', '2', '--checksum-every', '1', '--checkpoint-every', '2', '--precision', 'bf16'];
    const r = await train(hybrid);
    assert.equal(r.code, 0, r.stderr);
    const summary = JSON.parse(r.stdout);
    assert.equal(summary.status, 'completed');
    assert.equal(summary.pipeline.dp, 2);
    assert.equal(summary.gbs, 16);
    assert.equal(summary.steps, 4);
    const step = path.join(r.dir, 'checkpoints', 'step-4');
    // Ranks d·K + s: ranks 0 and 2 hold stage 0, ranks 1 and 3 stage 1.
    assert.ok(weightsOf(path.join(step, 'rank-0')).equals(weightsOf(path.join(step, 'rank-2'))), 'stage 0 replicas differ');
    assert.ok(weightsOf(path.join(step, 'rank-1')).equals(weightsOf(path.join(step, 'rank-3'))), 'stage 1 replicas differ');
    assert.ok(!weightsOf(path.join(step, 'rank-0')).equals(weightsOf(path.join(step, 'rank-1'))), 'the stages hold different layers');

    // Stopped after 2 steps and resumed from its 4 shards: the rest of the same curve.
    const first = await train([...hybrid, '--max-steps', '2']);
    assert.equal(first.code, 0, first.stderr);
    const resumed = await train(['-n', '4', '--resume', first.dir, '--max-steps', '4']);
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.deepEqual(steps(resumed.dir).map((l) => l.loss), steps(r.dir).slice(2).map((l) => l.loss));
  });

  it('hybrid: a replica whose stage weights diverge fails the job naming its world rank', async () => {
    const r = await train([...model, '-n', '4', '--strategy', 'hybrid', '--dp', '2', '--stages', '2', '--micro-batches', '2', '--checksum-every', '1'], { JOULE_TEST_DIVERGE: '2:1' });
    assert.notEqual(r.code, 0);
    // Rank 2 holds stage 0 of replica 1; its group is ranks 0 and 2.
    assert.match(r.stderr, /weights diverged at step 2: rank\(s\) 2 differ from rank 0.*JOULE_WEIGHTS_DIVERGED/);
  });

  it('a stage that dies mid-pipeline ends the job at once, with its rank named', async () => {
    const r = await train([...model, '-n', '2', '--strategy', 'pp', '--stages', '2', '--micro-batches', '4'], { JOULE_TEST_STAGE_EXIT: '1:2' });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /rank 1 .*exited with code 3/);
    assert.ok(!fs.existsSync(path.join(r.dir, 'train-summary.json')));
  });

  it('a pipeline checkpoint resumes to the loss curve of an uninterrupted run, and refuses another layout', async () => {
    const whole = await train([...model, '-n', '2', '--strategy', 'pp', '--stages', '2', '--micro-batches', '2', '--schedule', '1f1b']);
    assert.equal(whole.code, 0, whole.stderr);
    const first = await train([...model, '-n', '2', '--strategy', 'pp', '--stages', '2', '--micro-batches', '2', '--schedule', '1f1b', '--max-steps', '3', '--checkpoint-every', '3']);
    assert.equal(first.code, 0, first.stderr);
    assert.ok(fs.existsSync(path.join(first.dir, 'checkpoints', 'step-3', 'rank-1', 'state.json')));
    const resumed = await train(['-n', '2', '--resume', first.dir, '--max-steps', '8']);
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.deepEqual(steps(resumed.dir).map((l) => l.loss), steps(whole.dir).slice(3).map((l) => l.loss));
    const otherGrid = await train(['-n', '4', '--resume', first.dir]);
    assert.equal(otherGrid.code, 1);
    assert.match(otherGrid.stderr, /written by 2 rank\(s\), strategy pp, 1 × 2 grid.*JOULE_BAD_CHECKPOINT/);
    const otherStrategy = await train(['-n', '2', '--resume', first.dir, '--strategy', 'dp']);
    assert.equal(otherStrategy.code, 1);
    assert.match(otherStrategy.stderr, /--strategy dp \(saved: pp\).*JOULE_BAD_CHECKPOINT/);
    assert.doesNotMatch(otherStrategy.stderr, /\n\s+at /, 'no stack trace');
  });

  it('SIGTERM stops every stage at the same step with a sharded checkpoint, and the run resumes', async () => {
    const dir = path.join(scratch, `run-${++runs}`);
    const args = ['train', ...small, '--train-size', '1024', ...model, '-n', '2', '--strategy', 'pp', '--stages', '2', '--micro-batches', '2', '--run-dir', dir];
    const { stderr } = await trainThenTerminate(args, dir, pinned);
    const summary = JSON.parse(fs.readFileSync(path.join(dir, 'train-summary.json'), 'utf8'));
    assert.equal(summary.status, 'terminated', stderr);
    const stoppedAt = summary.position.globalStep;
    for (const rank of [0, 1]) assert.ok(fs.existsSync(path.join(dir, 'checkpoints', `step-${stoppedAt}`, `rank-${rank}`, 'tensors.bin')), `rank ${rank}'s shard`);
    const resumed = await train(['-n', '2', '--resume', dir, '--max-steps', String(stoppedAt + 1)]);
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.equal(steps(resumed.dir)[0].step, stoppedAt);
  });

  describe('precision, emulation and energy projection in pipelines', () => {
    const shard = (dir: string, step: number, rank: number) => JSON.parse(fs.readFileSync(path.join(dir, 'checkpoints', `step-${step}`, `rank-${rank}`, 'state.json'), 'utf8'));
    const hybrid = ['-n', '4', '--strategy', 'hybrid', '--dp', '2', '--stages', '2', '--micro-batches', '2'];

    it('hybrid with an f16 wire: an overflow in one stage group skips the step in every stage', async () => {
      // A learning rate this large makes gradients overflow f16 at the initial loss scale (2^16) within a few steps.
      const r = await train(['--model', 'resnet-mini', '--lbs', '4', '--epochs', '1', '--train-size', '128', ...hybrid, '--precision', 'fp16', '--optimizer', 'sgd', '--lr', '20', '--checkpoint-every', '8', '--checksum-every', '1']);
      assert.equal(r.code, 0, r.stderr);
      const summary = JSON.parse(r.stdout);
      assert.equal(summary.steps, 8);
      assert.ok(summary.skippedSteps > 0, 'this configuration overflows the f16 wire');
      const lines = steps(r.dir) as (StepLine & { wire: string; skipped: boolean; lossScale: number })[];
      assert.ok(lines.every((l) => l.wire === 'f16' && l.lossScale > 0));
      lines.forEach((l, i) => i > 0 && assert.equal(l.lossScale, l.skipped ? lines[i - 1].lossScale / 2 : lines[i - 1].lossScale, `step ${l.step}: the scale halves at a skip, else stays`));
      // Every rank applied the same updates: the same optimizer step count and the same skips in all four shards.
      const shards = [0, 1, 2, 3].map((rank) => shard(r.dir, 8, rank));
      for (const state of shards) {
        assert.equal(state.optimizer.step, 8 - summary.skippedSteps, `rank shards disagree: ${JSON.stringify(shards.map((st) => st.optimizer))}`);
        assert.equal(state.lossScaler.skipped, summary.skippedSteps);
        assert.equal(state.lossScaler.scale, shards[0].lossScaler.scale);
      }
    });

    it('hybrid with the adaptive policy: every rank takes the same decisions, recorded with their evidence', async () => {
      const r = await train(['--model', 'mlp', '--lbs', '4', '--epochs', '1', '--train-size', '512', ...hybrid, '--precision', 'adaptive', '--allow-model-energy', '--checkpoint-every', '32']);
      assert.equal(r.code, 0, r.stderr);
      const summary = JSON.parse(r.stdout);
      assert.equal(summary.precision.kind, 'adaptive');
      const decisions = fs.readFileSync(path.join(r.dir, 'precision.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
      const trial = decisions.find((d) => d.event === 'trial');
      assert.ok(trial, JSON.stringify(decisions));
      assert.match(trial.reason, /model/);
      assert.ok((steps(r.dir) as (StepLine & { wire: string })[]).some((l) => l.wire === 'bf16'), 'the trial rung reached the wire');
      const policies = [0, 1, 2, 3].map((rank) => JSON.stringify(shard(r.dir, 32, rank).policy));
      assert.ok(policies.every((p) => p === policies[0]), 'the policy state differs between ranks');
    });

    it('pp with --emulate bf16 gives the loss curve of 1 rank emulating bf16 at the same global batch', async () => {
      const oneRank = await train([...model, '-n', '1', '--gbs', '16', '--emulate', 'bf16']);
      assert.equal(oneRank.code, 0, oneRank.stderr);
      const r = await train([...model, '-n', '2', '--strategy', 'pp', '--stages', '2', '--micro-batches', '4', '--emulate', 'bf16']);
      assert.equal(r.code, 0, r.stderr);
      const lines = steps(r.dir) as (StepLine & { emulated: string | null })[];
      assert.ok(lines.every((l) => l.emulated === 'bf16'));
      assertClose(lines.map((l) => l.loss), steps(oneRank.dir).map((l) => l.loss), 1e-5, 'pp emulated vs 1 rank emulated');
      assert.notDeepEqual(lines.map((l) => l.loss), single.map((l) => l.loss), 'emulation changed nothing');
    });

    it('pp with --energy-budget stops after the epoch whose projection exceeds it, with every shard saved', async () => {
      const r = await train([...model, '--epochs', '3', '-n', '2', '--strategy', 'pp', '--stages', '2', '--micro-batches', '4', '--energy-budget', '0.5J']);
      assert.equal(r.code, 0, r.stderr);
      const summary = JSON.parse(r.stdout);
      assert.equal(summary.status, 'budget');
      assert.equal(summary.steps, 4, 'one epoch of 64 / 16');
      const projections = fs.readFileSync(path.join(r.dir, 'projections.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
      assert.equal(projections.length, 1);
      assert.equal(projections[0].source, 'model');
      assert.ok(projections[0].overBudget && projections[0].energyJ > 0.5);
      for (const rank of [0, 1]) assert.ok(fs.existsSync(path.join(r.dir, 'checkpoints', 'step-4', `rank-${rank}`, 'state.json')));
    });

    it('pp with --predict-after 1 projects each epoch without stopping', async () => {
      const r = await train([...model, '--epochs', '2', '-n', '2', '--strategy', 'pp', '--stages', '2', '--micro-batches', '4', '--predict-after', '1']);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(JSON.parse(r.stdout).status, 'completed');
      const projections = fs.readFileSync(path.join(r.dir, 'projections.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
      assert.deepEqual(projections.map((p) => p.epochsObserved), [1, 2]);
      assert.ok(projections.every((p) => p.plannedEpochs === 2 && p.energyJ > 0 && p.budgetJ === null));
    });
  });

  describe('bad grids and splits', () => {
    const cases: [string, string[], RegExp][] = [
      ['more stages than cut points', ['--model', 'mlp', '-n', '4', '--strategy', 'pp', '--stages', '4'], /model mlp has 2 cut points.*--stages 4 needs 3.*JOULE_BAD_ARGUMENT/],
      ['a split inside a residual block', ['--model', 'resnet-mini', '-n', '2', '--strategy', 'pp', '--stages', '2', '--split', '5'], /more than one tensor crosses before layer 5.*JOULE_BAD_ARGUMENT/],
      ['a split past the model', ['--model', 'mlp', '-n', '2', '--strategy', 'pp', '--stages', '2', '--split', '7'], /7 is outside the model.*JOULE_BAD_ARGUMENT/],
      ['a split with too few cuts', ['--model', 'resnet-mini', '-n', '3', '--strategy', 'pp', '--stages', '3', '--split', '9'], /gives 2 stages; --stages 3 needs 2 cuts.*JOULE_BAD_ARGUMENT/],
      ['a grid the ranks do not fill', ['--model', 'mlp', '-n', '3', '--strategy', 'hybrid', '--dp', '2', '--stages', '2'], /needs 4 ranks; the job has 3.*JOULE_BAD_ARGUMENT/],
      ['pipeline flags on a data-parallel run', ['--model', 'mlp', '-n', '2', '--stages', '2'], /--stages applies to --strategy pp or hybrid.*JOULE_BAD_ARGUMENT/],
    ];
    for (const [what, args, expected] of cases) {
      it(`refuses ${what} with a coded error and no stack trace`, async () => {
        const r = await train(args);
        assert.ok(r.code === 1 || r.code === 2, `exit ${r.code}: ${r.stderr}`);
        assert.match(r.stderr, expected);
        assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
      });
    }
  });
});
