// The rank runtime and `joule launch` on the private two-node SLURM cluster: bare srun, and srun inside an allocation.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fakeNvml, jouleBin, run } from '../helpers/run';
import { assertValidRunDir } from '../helpers/run-schema';
import { useSlurmCluster } from '../helpers/slurm-cluster';

const fixtures = path.join(__dirname, 'fixtures');

function rankLines(stdout: string): Array<Record<string, any>> {
  return stdout
    .split('\n')
    .filter((line) => line.includes('"gpuBinding"'))
    .map((line) => JSON.parse(line.slice(line.indexOf('{'))));
}

describe('rank runtime under SLURM', function () {
  this.timeout(60_000);
  const cluster = useSlurmCluster();

  it('bare srun -N2 -n4: ranks find each other through rank 0\'s coordinator, with SLURM\'s layout', async () => {
    const { env, dir } = cluster();
    const result = await run('srun', ['-N2', '-n4', process.execPath, path.join(fixtures, 'hello.js')], {
      env: { ...env, JOULE_JOB_SECRET: crypto.randomBytes(16).toString('hex') },
      cwd: dir,
      timeoutMs: 45_000,
    });
    assert.equal(result.code, 0, result.stderr);
    const ranks = rankLines(result.stdout).sort((a, b) => a.rank - b.rank);
    assert.deepEqual(ranks.map((r) => [r.rank, r.size, r.localRank]), [[0, 4, 0], [1, 4, 1], [2, 4, 0], [3, 4, 1]]);
    // Each rank read the next rank's host from the key-value store: n1 holds ranks 0-1, n2 ranks 2-3.
    assert.deepEqual(ranks.map((r) => r.peer.split(':')[0]), ['n1', 'n2', 'n2', 'n1']);
  });

  it('bare srun without the job secret fails with a clear message', async () => {
    const { env, dir } = cluster();
    const result = await run('srun', ['-N1', '-n1', process.execPath, path.join(fixtures, 'hello.js')], { env, cwd: dir, timeoutMs: 30_000 });
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, /JOULE_JOB_SECRET is not set/);
  });

  it('a batch script is not a rank and its srun tasks are (the one rule, src/world/identity.ts, against real SLURM)', async () => {
    const { env, dir } = cluster();
    const identity = path.resolve(__dirname, '../../dist/src/world/identity.js');
    const probe = `${process.execPath} -e 'const i = require(${JSON.stringify(identity)}); console.log(process.env.SLURM_STEP_ID ?? "batch", i.runningAsRank(), i.rankEnvironment({ ...process.env, JOULE_JOB_SECRET: "${'s'.repeat(32)}" }).mode)'`;
    const out = path.join(dir, `probe-${process.pid}.txt`);
    const result = await run('sbatch', ['--wait', '-N1', '-n2', '-o', out, '--wrap', `${probe}; srun -n1 ${probe}`], { env, cwd: dir, timeoutMs: 45_000 });
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(fs.readFileSync(out, 'utf8').trim().split('\n'), ['batch false singleton', '0 true srun']);
  });

  it('joule launch inside an allocation starts ranks with srun and records both nodes', async () => {
    const { env, dir } = cluster();
    const runDir = fs.mkdtempSync(path.join(os.tmpdir(), 'joule-srun-'));
    const result = await run('salloc', ['-N2', '-n4', process.execPath, jouleBin, 'launch', '--run-dir', runDir, '--json', '--', process.execPath, path.join(fixtures, 'hello.js')], {
      env,
      cwd: dir,
      timeoutMs: 45_000,
    });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(JSON.parse(result.stdout).status, 'succeeded');
    assert.deepEqual(rankLines(result.stderr).map((r) => r.rank).sort(), [0, 1, 2, 3]);
    const manifest = JSON.parse(fs.readFileSync(path.join(runDir, 'run.json'), 'utf8'));
    assert.equal(manifest.launcher.mode, 'srun');
    assert.deepEqual([...manifest.hosts].sort(), ['n1', 'n2']);
    assert.deepEqual(manifest.ranks.map((r: any) => [r.rank, r.host, r.localRank, r.nodeRank, r.exitCode]), [[0, 'n1', 0, 0, 0], [1, 'n1', 1, 0, 0], [2, 'n2', 0, 1, 0], [3, 'n2', 1, 1, 0]]);
    assertValidRunDir(runDir);
  });

  it('a rank killed under srun takes the job down and the launcher names it', async () => {
    const { env, dir } = cluster();
    const runDir = fs.mkdtempSync(path.join(os.tmpdir(), 'joule-srun-'));
    const result = await run('salloc', ['-N2', '-n4', process.execPath, jouleBin, 'launch', '--run-dir', runDir, '--', process.execPath, path.join(fixtures, 'behave.js'), 'kill', '2'], {
      env,
      cwd: dir,
      timeoutMs: 45_000,
    });
    assert.equal(result.code, 128 + 9, result.stderr);
    assert.match(result.stderr, /job failed: rank 2 on host n2 \(pid \d+\) was killed by SIGKILL; last activity: "step 7 of kill"/);
    const manifest = JSON.parse(fs.readFileSync(path.join(runDir, 'run.json'), 'utf8'));
    assert.equal(manifest.status, 'failed');
    assert.equal(manifest.failure.rank, 2);
  });

  it('a command that never calls joule.init() under srun: each node\'s first supervisor samples its GPUs (fake NVML), the ranks report their CPU time', async () => {
    const { env, dir } = cluster();
    const runDir = fs.mkdtempSync(path.join(os.tmpdir(), 'joule-srun-'));
    const gpus = { JOULE_NVML_LIBRARY: fakeNvml, JOULE_FAKE_NVML_GPUS: '2', JOULE_GPU_COUNT: '2' };
    const result = await run('salloc', ['-N2', '-n4', process.execPath, jouleBin, 'launch', '--run-dir', runDir, '--', process.execPath, '-e', 'while (process.cpuUsage().user < 300000);'], {
      env: { ...env, ...gpus },
      cwd: dir,
      timeoutMs: 45_000,
    });
    assert.equal(result.code, 0, result.stderr);
    const manifest = JSON.parse(fs.readFileSync(path.join(runDir, 'run.json'), 'utf8'));
    assert.ok(manifest.ranks.every((r: any) => r.cpuTimeS >= 0.3), JSON.stringify(manifest.ranks));
    const { nodes, totals } = manifest.energy;
    assert.deepEqual(nodes.map((n: any) => [n.host, n.measuredBy, n.ranks.map((r: any) => r.rank)]), [['n1', 'node', [0, 1]], ['n2', 'node', [2, 3]]]);
    const sampled = fs.readFileSync(path.join(runDir, 'node-power.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l)).filter((r) => r.type === 'power-run');
    assert.deepEqual(sampled.map((r) => [r.host, r.rank]).sort(), [['n1', 0], ['n2', 2]]);
    // Two fake GPUs at 100 W per node, for each node sampler's window.
    const expected = sampled.reduce((sum, r) => sum + 2 * 100 * r.durationS, 0);
    assert.ok(Math.abs(totals.sources['nvml-counter'] - expected) <= 0.02 * expected, `${totals.sources['nvml-counter']} J vs ${expected} J`);
    for (const node of nodes) {
      const cpu = node.ranks.map((r: any) => r.cpuShare);
      assert.ok(Math.abs(cpu[0] + cpu[1] - 1) < 1e-12, 'each node split between its two ranks by CPU time');
    }
    assertValidRunDir(runDir);
  });

  it('a rank that sets an activity and exits at once under srun: the failure names that activity', async () => {
    const { env, dir } = cluster();
    const runDir = fs.mkdtempSync(path.join(os.tmpdir(), 'joule-srun-'));
    const result = await run('salloc', ['-N2', '-n2', process.execPath, jouleBin, 'launch', '--run-dir', runDir, '--', process.execPath, path.join(fixtures, 'behave.js'), 'exit-at-once', '1'], {
      env,
      cwd: dir,
      timeoutMs: 45_000,
    });
    assert.equal(result.code, 5, result.stderr);
    assert.match(result.stderr, /job failed: rank 1 on host n2 \(pid \d+\) exited with code 5; last activity: "writing checkpoint 3"/);
    const manifest = JSON.parse(fs.readFileSync(path.join(runDir, 'run.json'), 'utf8'));
    assert.equal(manifest.failure.activity, 'writing checkpoint 3');
    assertValidRunDir(runDir);
  });
});
