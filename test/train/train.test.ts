// joule train end to end: data parallelism equals one rank, accumulation equals the larger batch,
// checksums catch divergence, resume equals an uninterrupted run, SIGTERM leaves a resumable checkpoint,
// and bad input gets coded errors. Small configurations: every run is a few seconds.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import crypto from 'node:crypto';
import { joule, jouleBin, run } from '../helpers/run';
import { readSteps, trainThenTerminate } from '../helpers/train-run';
import { assertValidRunDirsUnder } from '../helpers/run-schema';
import { useSlurmCluster } from '../helpers/slurm-cluster';
import { advanceCounter, fakePowercap } from '../power/powercap';

interface StepLine {
  step: number;
  loss: number;
  accuracy: number | null;
  wire: string;
  wireBytes: number;
  energy: { energyJ: number | null; modelEnergyJ: number | null; source: string } | null;
}

const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'joule-train-'));
const noPowercap = fs.mkdtempSync(path.join(os.tmpdir(), 'joule-no-powercap-'));
// No GPU library and an empty powercap tree: energy comes from the model on any machine.
const pinned = { JOULE_NVML_LIBRARY: path.join(scratch, 'no-nvml.so'), JOULE_POWERCAP_ROOT: noPowercap, JOULE_TEST_DIVERGE: '' };
const small = ['--model', 'mlp', '--dataset', 'synthetic-images', '--train-size', '256', '--test-size', '64', '--json'];
let runs = 0;

function runDir(): string {
  return path.join(scratch, `run-${++runs}`);
}

const steps = (dir: string) => readSteps<StepLine>(dir);

async function train(args: string[], env: NodeJS.ProcessEnv = {}) {
  const dir = runDir();
  const result = await joule(['train', ...small, '--run-dir', dir, ...args], { ...pinned, ...env }, { timeoutMs: 120_000 });
  assertValidRunDirsUnder(dir);
  return { ...result, dir };
}

function assertClose(a: number[], b: number[], tolerance: number, what: string): void {
  assert.equal(a.length, b.length, `${what}: ${a.length} vs ${b.length} steps`);
  a.forEach((x, i) => assert.ok(Math.abs(x - b[i]) <= tolerance * Math.max(1, Math.abs(b[i])), `${what}: step ${i} ${x} vs ${b[i]}`));
}

describe('joule train', function () {
  this.timeout(180_000);
  after(() => {
    fs.rmSync(scratch, { recursive: true, force: true });
    fs.rmSync(noPowercap, { recursive: true, force: true });
  });

  it('trains, prints a JSON summary with its energy source, and records steps and epochs', async () => {
    const r = await train(['-n', '2', '--lbs', '16', '--epochs', '2']);
    assert.equal(r.code, 0, r.stderr);
    const summary = JSON.parse(r.stdout);
    assert.equal(summary.status, 'completed');
    assert.equal(summary.ranks, 2);
    assert.equal(summary.gbs, 32);
    assert.equal(summary.steps, 16); // 256 / 32 per epoch × 2
    assert.equal(summary.energy.energyJ, null, 'nothing can measure here: no measured figure');
    assert.ok(summary.energy.modelEnergyJ > 0);
    assert.equal(summary.energy.source, 'model');
    assert.ok(summary.heldOut.accuracy > 0.3, `held-out accuracy ${summary.heldOut.accuracy}`);
    assert.equal(summary.communicatedBytes, 16 * 2 * 4 * summary.model.parameters);
    const lines = steps(r.dir);
    assert.deepEqual(lines.map((l) => l.step), [...Array(16).keys()]);
    assert.ok(lines.every((l) => l.energy?.source === 'model' && l.energy.energyJ === null && (l.energy.modelEnergyJ ?? 0) > 0));
    assert.ok(lines[15].loss < lines[0].loss, 'the loss falls');
    const epochs = fs.readFileSync(path.join(r.dir, 'epochs.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    assert.deepEqual(epochs.map((e) => e.epoch), [1, 2]);
    assert.ok(epochs.every((e) => e.energySource === 'model' && e.energyJ === null && e.modelEnergyJ > 0 && e.heldOutAccuracy !== null));
    assert.ok(fs.existsSync(path.join(r.dir, 'train-summary.json')));
  });

  it('2 ranks give the loss curve of 1 rank at the same global batch', async () => {
    const one = await train(['-n', '1', '--lbs', '32', '--max-steps', '6']);
    const two = await train(['-n', '2', '--lbs', '16', '--max-steps', '6']);
    assert.equal(one.code, 0, one.stderr);
    assert.equal(two.code, 0, two.stderr);
    assertClose(steps(two.dir).map((s) => s.loss), steps(one.dir).map((s) => s.loss), 1e-4, 'dp=2 vs dp=1');
  });

  it('gradient accumulation equals the larger batch', async () => {
    const big = await train(['-n', '1', '--lbs', '32', '--max-steps', '6']);
    const accumulated = await train(['-n', '1', '--lbs', '8', '--gbs', '32', '--max-steps', '6']);
    assert.equal(accumulated.code, 0, accumulated.stderr);
    assert.equal(JSON.parse(accumulated.stdout).accumulation, 4);
    assertClose(steps(accumulated.dir).map((s) => s.loss), steps(big.dir).map((s) => s.loss), 1e-4, 'accumulation 4 × 8 vs 32');
  });

  it('the same seed gives the same loss curve bitwise; another seed another', async () => {
    const a = await train(['-n', '2', '--lbs', '16', '--max-steps', '4', '--seed', '5']);
    const b = await train(['-n', '2', '--lbs', '16', '--max-steps', '4', '--seed', '5']);
    const c = await train(['-n', '2', '--lbs', '16', '--max-steps', '4', '--seed', '6']);
    assert.deepEqual(steps(a.dir).map((s) => s.loss), steps(b.dir).map((s) => s.loss));
    assert.notDeepEqual(steps(a.dir).map((s) => s.loss), steps(c.dir).map((s) => s.loss));
  });

  it('bf16 and fp16 wires halve the gradient bytes and still train', async () => {
    const fp32 = await train(['-n', '2', '--lbs', '16', '--max-steps', '4']);
    for (const precision of ['bf16', 'fp16']) {
      const r = await train(['-n', '2', '--lbs', '16', '--max-steps', '4', '--precision', precision]);
      assert.equal(r.code, 0, r.stderr);
      const lines = steps(r.dir);
      assert.ok(lines.every((l) => l.wire === (precision === 'bf16' ? 'bf16' : 'f16')));
      assert.equal(lines[0].wireBytes * 2, steps(fp32.dir)[0].wireBytes);
      assertClose(lines.map((l) => l.loss), steps(fp32.dir).map((l) => l.loss), 2e-2, `${precision} vs fp32`);
    }
  });

  it('a rank whose weights diverge fails the job with JOULE_WEIGHTS_DIVERGED naming it and the step', async () => {
    const r = await train(['-n', '2', '--lbs', '16', '--max-steps', '6', '--checksum-every', '1'], { JOULE_TEST_DIVERGE: '1:2' });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /JOULE_WEIGHTS_DIVERGED/);
    assert.match(r.stderr, /weights diverged at step 3: rank\(s\) 1 differ/);
  });

  it('resuming from a checkpoint continues the uninterrupted loss curve bitwise', async () => {
    const whole = await train(['-n', '2', '--lbs', '16', '--max-steps', '8', '--checkpoint-every', '3']);
    assert.equal(whole.code, 0, whole.stderr);
    const checkpoint = path.join(whole.dir, 'checkpoints', 'step-3');
    assert.ok(fs.existsSync(path.join(checkpoint, 'state.json')));
    const resumed = await train(['-n', '2', '--resume', checkpoint]);
    assert.equal(resumed.code, 0, resumed.stderr);
    const after = steps(resumed.dir);
    assert.deepEqual(after.map((s) => s.step), [3, 4, 5, 6, 7]);
    assert.deepEqual(after.map((s) => s.loss), steps(whole.dir).slice(3).map((s) => s.loss));
  });

  it('resuming under another rank layout is refused with JOULE_BAD_CHECKPOINT', async () => {
    const first = await train(['-n', '2', '--lbs', '16', '--max-steps', '2', '--checkpoint-every', '2']);
    assert.equal(first.code, 0, first.stderr);
    const r = await train(['-n', '1', '--resume', first.dir]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /JOULE_BAD_CHECKPOINT/);
    assert.match(r.stderr, /written by 2 rank\(s\)/);
  });

  it('SIGTERM checkpoints at the next step, ends as terminated, and the run resumes to the end', async () => {
    const dir = runDir();
    // Stopped as SLURM would, once training runs (the first step records reach the run directory).
    const { code, stderr } = await trainThenTerminate(['train', ...small, '--train-size', '2048', '-n', '2', '--lbs', '16', '--epochs', '3', '--run-dir', dir], dir, pinned);
    const run = JSON.parse(fs.readFileSync(path.join(dir, 'run.json'), 'utf8'));
    assert.equal(run.status, 'terminated', stderr);
    assert.notEqual(code, 0);
    const summary = JSON.parse(fs.readFileSync(path.join(dir, 'train-summary.json'), 'utf8'));
    assert.equal(summary.status, 'terminated');
    const stoppedAt = summary.position.globalStep;
    assert.ok(stoppedAt > 0 && stoppedAt < 3 * 64, `stopped at ${stoppedAt}`);
    const resumed = await train(['-n', '2', '--resume', dir, '--max-steps', String(stoppedAt + 1)]);
    assert.equal(resumed.code, 0, resumed.stderr);
    const after = steps(resumed.dir);
    assert.equal(after[0].step, stoppedAt);
    assert.equal(JSON.parse(resumed.stdout).status, 'completed');
  });

  it('measures energy where it can: a fake RAPL tree on local rank 0 makes the steps measured (rapl)', async () => {
    const tree = fakePowercap([{ zone: 'intel-rapl:0', name: 'package-0', energyUj: 1_000_000, maxEnergyRangeUj: 262_143_328_850 }]);
    // The counter advances while training runs: 5 W worth of µJ every 20 ms.
    const stop = advanceCounter(tree.energyFile('intel-rapl:0'), 100_000, 20);
    try {
      const r = await train(['-n', '2', '--lbs', '16', '--max-steps', '6'], { JOULE_POWERCAP_ROOT: tree.root });
      assert.equal(r.code, 0, r.stderr);
      const summary = JSON.parse(r.stdout);
      assert.ok(summary.energy.energyJ > 0, JSON.stringify(summary.energy));
      assert.match(summary.energy.source, /^rapl/);
      // Every step was measured; a step shorter than the fake counter's 20 ms tick may measure 0 J.
      assert.ok(steps(r.dir).every((l) => l.energy && l.energy.source === 'rapl' && l.energy.energyJ !== null && l.energy.energyJ >= 0));
    } finally {
      stop();
      tree.remove();
    }
  });

  it('--energy-budget stops cleanly after the epoch whose projection exceeds it, with a checkpoint', async () => {
    const r = await train(['-n', '2', '--lbs', '16', '--epochs', '4', '--energy-budget', '0.5J']);
    assert.equal(r.code, 0, r.stderr);
    const summary = JSON.parse(r.stdout);
    assert.equal(summary.status, 'budget');
    assert.equal(summary.steps, 8, 'one epoch of 256 / 32');
    const projections = fs.readFileSync(path.join(r.dir, 'projections.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    assert.equal(projections.length, 1);
    assert.equal(projections[0].source, 'model');
    assert.equal(projections[0].overBudget, true);
    assert.ok(projections[0].energyJ > 0.5);
    assert.ok(fs.existsSync(path.join(r.dir, 'checkpoints', 'step-8', 'state.json')));
  });

  it('--predict-after 1 projects each epoch without stopping', async () => {
    const r = await train(['-n', '1', '--lbs', '32', '--epochs', '3', '--predict-after', '1']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout).status, 'completed');
    const projections = fs.readFileSync(path.join(r.dir, 'projections.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    assert.deepEqual(projections.map((p) => p.epochsObserved), [1, 2, 3]);
    assert.ok(projections.every((p) => p.plannedEpochs === 3 && p.energyJ > 0 && p.budgetJ === null));
  });

  it('trains with power off (JOULE_POWER=off): no energy figures, nothing pretends to be measured', async () => {
    const r = await train(['-n', '2', '--lbs', '16', '--max-steps', '4'], { JOULE_POWER: 'off' });
    assert.equal(r.code, 0, r.stderr);
    const summary = JSON.parse(r.stdout);
    assert.equal(summary.energy.energyJ, null);
    assert.equal(summary.energy.modelEnergyJ, null);
    assert.equal(summary.energy.source, 'none');
    assert.ok(steps(r.dir).every((l) => l.energy?.source === 'none'));
  });

  describe('bad input', () => {
    const cases: [string, string[], RegExp][] = [
      ['an unknown model', ['--model', 'resnet-9000'], /JOULE_UNKNOWN_MODEL/],
      ['an unknown data set', ['--dataset', 'cifar-1000'], /JOULE_UNKNOWN_DATASET/],
      ['a global batch that lbs × ranks does not divide', ['-n', '2', '--lbs', '16', '--gbs', '48'], /JOULE_BAD_ARGUMENT.*|--gbs 48 is not a multiple/],
      ['a missing tfjs-node', ['--tf-backend', 'tfjs-node'], /JOULE_TF_BACKEND_UNAVAILABLE/],
      ['a bad --checkpoint-every', ['--checkpoint-every', 'often'], /--checkpoint-every takes a positive count/],
      ['a run directory without a checkpoint', ['--resume', os.tmpdir()], /JOULE_BAD_CHECKPOINT/],
    ];
    for (const [what, args, expected] of cases) {
      it(`refuses ${what} with a coded error and no stack trace`, async () => {
        const r = await train(args);
        assert.ok(r.code === 1 || r.code === 2, `exit ${r.code}`);
        assert.match(r.stderr, expected);
        assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
      });
    }
  });
});

describe('joule train on the private SLURM cluster', function () {
  this.timeout(180_000);
  const cluster = useSlurmCluster();

  it('srun -N2 -n2 joule train: one rank per node trains and leaves a complete run directory', async () => {
    const { env } = cluster();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'joule-train-srun-'));
    try {
      const runDir = path.join(dir, 'run');
      const result = await run('srun', ['-N2', '-n2', '--kill-on-bad-exit=1', process.execPath, jouleBin, 'train', ...small, '--lbs', '16', '--max-steps', '6'], {
        env: { ...env, ...pinned, JOULE_JOB_SECRET: crypto.randomBytes(32).toString('hex'), JOULE_RUN_DIR: runDir },
        cwd: dir,
        timeoutMs: 150_000,
      });
      assert.equal(result.code, 0, `${result.stdout}\n${result.stderr}`);
      const summary = JSON.parse(result.stdout.slice(result.stdout.indexOf('{')));
      assert.equal(summary.ranks, 2);
      assert.equal(summary.steps, 6);
      const manifest = JSON.parse(fs.readFileSync(path.join(runDir, 'run.json'), 'utf8'));
      assert.equal(manifest.status, 'succeeded');
      assert.deepEqual([...manifest.hosts].sort(), ['n1', 'n2']);
      assert.deepEqual(steps(runDir).map((s) => s.step), [0, 1, 2, 3, 4, 5]);
      for (const file of ['train-summary.json', 'epochs.jsonl', 'train-config.jsonl']) assert.ok(fs.existsSync(path.join(runDir, file)), file);
      assertValidRunDirsUnder(runDir);
      // The same configuration started by the local launcher gives the same loss curve, bitwise (two
      // ranks' sum is exact in either order, whichever backend — tcp across the nodes, shm here — adds it).
      const local = await joule(['train', ...small, '--lbs', '16', '--max-steps', '6', '-n', '2', '--run-dir', path.join(dir, 'local')], pinned, { timeoutMs: 120_000 });
      assert.equal(local.code, 0, local.stderr);
      assert.deepEqual(steps(path.join(dir, 'local')).map((s) => s.loss), steps(runDir).map((s) => s.loss));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
