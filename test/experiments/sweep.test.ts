// joule sweep: grid expansion, a sweep of a short command run end to end, interrupted and resumed, a failed point listed, power limits set and restored (fake NVML, also after a crash), and a job array on the private SLURM cluster.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isJouleError } from '../../src/errors';
import { expandSweep, parseGridFlags } from '../../src/experiments/sweep-grid';
import { fakeNvml, joule, jouleBin } from '../helpers/run';
import { useSlurmCluster } from '../helpers/slurm-cluster';
import { assertValidRunDirsUnder } from '../helpers/run-schema';

async function until(check: () => boolean, what: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function manifest(runDir: string): Record<string, any> {
  return JSON.parse(fs.readFileSync(path.join(runDir, 'run.json'), 'utf8'));
}

function sweepJson(dir: string): Record<string, any> {
  return JSON.parse(fs.readFileSync(path.join(dir, 'sweep.json'), 'utf8'));
}

describe('joule sweep', function () {
  this.timeout(120_000);
  let dir = '';
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'joule-sweep-'))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  describe('the grid', () => {
    it('is the product of the dimensions, last fastest, each point repeated, placeholders filled', () => {
      const points = expandSweep({ command: ['prog', '--a={a}', '{b}'], grid: parseGridFlags(['a=1,2', 'b=x,y']), repeat: 2 });
      assert.deepEqual(
        points.map((p) => p.command.join(' ')),
        ['prog --a=1 x', 'prog --a=1 x', 'prog --a=1 y', 'prog --a=1 y', 'prog --a=2 x', 'prog --a=2 x', 'prog --a=2 y', 'prog --a=2 y'],
      );
      assert.deepEqual(points.map((p) => p.repeat), [1, 2, 1, 2, 1, 2, 1, 2]);
      assert.equal(new Set(points.map((p) => p.id)).size, 8);
      assert.equal(points[0].config, points[1].config);
      assert.notEqual(points[0].config, points[2].config);
      assert.equal(points[0].params.a, 1); // numbers stay numbers
    });

    it('gives joule train the unused dimensions as flags, gpus as the rank count and power-limit to NVML', () => {
      const [point] = expandSweep({ command: ['train', '--model', 'mlp'], grid: parseGridFlags(['gpus=4', 'lbs=32', 'power-limit=250']), repeat: 1 });
      assert.equal(point.kind, 'train');
      assert.deepEqual(point.command, ['--model', 'mlp', '--lbs', '32']);
      assert.equal(point.ntasks, 4);
      assert.equal(point.powerLimitW, 250);
    });

    it('refuses what would silently do the wrong thing, with JOULE_BAD_ARGUMENT', () => {
      const refused = (fn: () => unknown, pattern: RegExp) => assert.throws(fn, (e: unknown) => isJouleError(e, 'JOULE_BAD_ARGUMENT') && pattern.test(e.message));
      refused(() => expandSweep({ command: ['prog'], grid: parseGridFlags(['lbs=32,64']), repeat: 1 }), /lbs is not used by the command: write \{lbs\}/);
      refused(() => expandSweep({ command: ['prog', '{x}'], grid: {}, repeat: 1 }), /uses \{x\} but no --grid x/);
      refused(() => parseGridFlags(['lbs=32,32']), /repeats a value/);
      refused(() => parseGridFlags(['lbs']), /name=v1,v2/);
      refused(() => expandSweep({ command: ['prog'], grid: parseGridFlags(['gpus=0']), repeat: 1 }), /integers >= 1/);
    });
  });

  it('runs a sweep of a short command end to end, is interrupted, resumes without redoing finished runs, and lists the failed point', async () => {
    const sweepDir = path.join(dir, 'sw');
    const mark = path.join(dir, 'mark');
    fs.mkdirSync(mark);
    // Point i=1 waits for a gate on its first attempt, so the test can interrupt the sweep while it runs; i=3 fails.
    const script = 'trap "exit 130" INT TERM; echo "point {i} $JOULE_RANK"; if [ {i} = 1 ] && [ ! -e "$MARK/gate" ]; then echo $$ > "$MARK/running"; while [ ! -e "$MARK/gate" ]; do sleep 0.05; done; fi; exit $(( {i} == 3 ? 3 : 0 ))';
    const child = spawn(process.execPath, [jouleBin, 'sweep', '--dir', sweepDir, '--name', 'short', '--grid', 'i=0,1,2,3', '--', 'bash', '-c', script], { env: { ...process.env, MARK: mark }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk) => (stderr += chunk));
    await until(() => fs.existsSync(path.join(mark, 'running')), 'point 1 to start');
    child.kill('SIGINT');
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    assert.notEqual(code, 0);
    assert.match(stderr, /sweep stopped by SIGINT after 2 run\(s\): 1 succeeded, .*continue with joule sweep --resume .*\[JOULE_ABORTED\]/);
    assert.match(stderr, /\[0\/4 done, 0 failed, 4 left, ETA after the first run\] running 0-i0-r1/);
    assert.match(stderr, /\[1\/4 done, 0 failed, 3 left, ETA [^\]]+\] running 1-i1-r1/);

    const index = sweepJson(sweepDir);
    assert.equal(index.schema, 'joule.sweep/1');
    assert.equal(index.points.length, 4);
    const first = manifest(path.join(sweepDir, index.points[0].runDir));
    assert.equal(first.status, 'succeeded');
    const status = JSON.parse((await joule(['sweep', '--resume', sweepDir, '--status', '--json'])).stdout);
    assert.deepEqual(status.succeeded, ['0-i0-r1']);

    fs.writeFileSync(path.join(mark, 'gate'), '');
    const resumed = await joule(['sweep', '--resume', sweepDir, '--json'], { MARK: mark });
    assert.equal(resumed.code, 1, resumed.stderr); // point 3 failed
    const outcome = JSON.parse(resumed.stdout);
    assert.deepEqual(outcome.succeeded, ['0-i0-r1', '1-i1-r1', '2-i2-r1']);
    assert.deepEqual(outcome.ranNow, ['1-i1-r1', '2-i2-r1', '3-i3-r1']);
    assert.deepEqual(outcome.failed.map((f: { id: string; exitCode: number }) => [f.id, f.exitCode]), [['3-i3-r1', 3]]);
    assert.match(resumed.stderr, /1 run\(s\) did not succeed: 3-i3-r1 \(failed, exit 3\)/);
    // The finished run was not redone: its record is the same file.
    assert.deepEqual(manifest(path.join(sweepDir, index.points[0].runDir)), first);
    // Each point its own run directory, with the command's values; the interrupted attempt is kept aside.
    for (const point of index.points) assert.deepEqual(manifest(path.join(sweepDir, point.runDir)).command.slice(-1)[0], script.replace(/\{i\}/g, String(point.params.i)));
    assert.deepEqual(fs.readdirSync(path.join(sweepDir, 'attempts')), ['1-i1-r1-1']);
    // A second resume has nothing left but the failed point, which it lists and does not rerun.
    const again = JSON.parse((await joule(['sweep', '--resume', sweepDir, '--json'])).stdout);
    assert.deepEqual(again.ranNow, []);
    assert.deepEqual(again.failed.map((f: { id: string }) => f.id), ['3-i3-r1']);
    assertValidRunDirsUnder(sweepDir);
  });

  it('sweeps joule train (unused dimensions as flags), and recommend and compare read the real runs', async () => {
    const sweepDir = path.join(dir, 'train');
    const result = await joule(['sweep', '--dir', sweepDir, '--json', '--grid', 'lbs=16,32', '-n', '1', '--', 'train', '--model', 'mlp', '--train-size', '64', '--test-size', '32', '--max-steps', '2'], {}, { timeoutMs: 120_000 });
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(JSON.parse(result.stdout).succeeded, ['0-lbs16-r1', '1-lbs32-r1']);
    for (const [i, lbs] of [16, 32].entries()) {
      const runDir = path.join(sweepDir, sweepJson(sweepDir).points[i].runDir);
      const summary = JSON.parse(fs.readFileSync(path.join(runDir, 'train-summary.json'), 'utf8'));
      assert.equal(summary.lbs, lbs);
      assert.equal(summary.ranks, 1);
    }
    const recommended = JSON.parse((await joule(['recommend', sweepDir, '--json'])).stdout);
    assert.equal(recommended.candidates.length, 2);
    assert.equal(recommended.candidates[0].energySource, 'model');
    assert.match(recommended.verdict, /one run per configuration: repeat the sweep/);
    const compared = JSON.parse((await joule(['compare', sweepDir, '--json'])).stdout);
    assert.deepEqual(compared.columns.map((c: { label: string }) => c.label), ['train:lbs=16', 'train:lbs=32']);
    assert.deepEqual(compared.differences.find((d: { field: string }) => d.field === 'lbs').values, ['16', '32']);
    assertValidRunDirsUnder(sweepDir);
  });

  it('sets the GPU power limit for each run through NVML and restores it after, and after a crash (fake NVML)', async () => {
    const sweepDir = path.join(dir, 'pl');
    const mark = path.join(dir, 'mark');
    fs.mkdirSync(mark);
    const limits = path.join(dir, 'limits');
    const env = { JOULE_NVML_LIBRARY: fakeNvml, JOULE_FAKE_NVML_GPUS: '2', JOULE_FAKE_NVML_LIMIT_FILE: limits, MARK: mark, LIMITS: limits };
    const read = () => (fs.existsSync(limits) ? fs.readFileSync(limits, 'utf8').trim().split('\n').map(Number) : [400000, 400000]);
    // Each run records the limits it ran under; the 250 W run waits for a gate so the test can kill the sweep mid-run.
    const script = 'cat "$LIMITS" > "$MARK/seen-{power-limit}"; if [ {power-limit} = 250 ] && [ ! -e "$MARK/gate" ]; then echo $$ > "$MARK/running"; while [ ! -e "$MARK/gate" ]; do sleep 0.05; done; fi';
    const child = spawn(process.execPath, [jouleBin, 'sweep', '--dir', sweepDir, '--grid', 'power-limit=150,250', '--', 'bash', '-c', script], { env: { ...process.env, ...env }, stdio: 'ignore', detached: true });
    await until(() => fs.existsSync(path.join(mark, 'running')), 'the 250 W run to start');
    assert.equal(fs.readFileSync(path.join(mark, 'seen-150'), 'utf8'), '150000\n150000\n');
    assert.deepEqual(read(), [250000, 250000]);
    // A crash: the sweep, its launcher and the rank die at once, with the limit still set.
    process.kill(-child.pid!, 'SIGKILL');
    process.kill(Number(fs.readFileSync(path.join(mark, 'running'), 'utf8')), 'SIGKILL');
    await new Promise((resolve) => child.on('close', resolve));
    assert.deepEqual(read(), [250000, 250000]);
    assert.ok(fs.existsSync(path.join(sweepDir, 'power-limits.json')), 'the journal of original limits is left behind');

    fs.writeFileSync(path.join(mark, 'gate'), '');
    const resumed = await joule(['sweep', '--resume', sweepDir, '--json'], env);
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.equal(fs.readFileSync(path.join(mark, 'seen-250'), 'utf8'), '250000\n250000\n');
    assert.deepEqual(read(), [400000, 400000]);
    assert.ok(!fs.existsSync(path.join(sweepDir, 'power-limits.json')));

    // Outside NVML's range: a clear error, nothing changed.
    const outside = await joule(['sweep', '--dir', path.join(dir, 'pl2'), '--grid', 'power-limit=900', '--', 'true'], env);
    assert.equal(outside.code, 2, outside.stderr);
    assert.match(outside.stderr, /power limit 900 W is outside GPU 0's range 100-500 W \[JOULE_BAD_ARGUMENT\]/);
    assert.deepEqual(read(), [400000, 400000]);
  });

  it('says why when the power limit cannot be set (no permission)', async () => {
    const result = await joule(['sweep', '--dir', path.join(dir, 'np'), '--grid', 'power-limit=200', '--', 'true'], { JOULE_NVML_LIBRARY: fakeNvml });
    assert.equal(result.code, 1);
    assert.match(result.stderr, /nvmlDeviceSetPowerManagementLimit failed: driver error 4: Insufficient Permissions \[JOULE_NATIVE_ERROR\]/);
  });

  describe('on the private SLURM cluster', function () {
    const cluster = useSlurmCluster();

    it('--submit --wait: one job-array task per point, each run by joule launch with srun into its run directory', async () => {
      const { env } = cluster();
      const sweepDir = path.join(dir, 'array');
      const result = await joule(['sweep', '--submit', '--wait', '--json', '-N', '2', '--ntasks-per-node', '1', '--dir', sweepDir, '--grid', 'word=alpha,beta', '--', 'bash', '-c', 'echo "{word} $SLURM_ARRAY_TASK_ID $JOULE_RANK"'], env, { cwd: dir, timeoutMs: 120_000 });
      assert.equal(result.code, 0, `${result.stderr}\n${fs.existsSync(path.join(sweepDir, 'logs')) ? fs.readdirSync(path.join(sweepDir, 'logs')).map((f) => fs.readFileSync(path.join(sweepDir, 'logs', f), 'utf8')).join('\n') : ''}`);
      const outcome = JSON.parse(result.stdout);
      assert.deepEqual(outcome.succeeded, ['0-wordalpha-r1', '1-wordbeta-r1']);
      const index = sweepJson(sweepDir);
      assert.equal(index.submissions.length, 1);
      assert.equal(index.submissions[0].jobId, outcome.jobId);
      for (const point of index.points) {
        const record = manifest(path.join(sweepDir, point.runDir));
        assert.equal(record.launcher.mode, 'srun');
        assert.equal(record.size, 2);
        assert.deepEqual([...record.hosts].sort(), ['n1', 'n2']);
        assert.equal(record.environment.SLURM_ARRAY_TASK_ID, String(point.index));
      }
      assertValidRunDirsUnder(sweepDir);
    });
  });
});
