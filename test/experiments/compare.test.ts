// joule compare on real runs: joule train here (local profile, with and without an NCCL library found) and on the private SLURM cluster under a second profile, same config and seed -> bitwise-equal loss curves; what differs (collective backend, NCCL); drift flagged beyond the tolerance; JSON and CSV.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import { loadProfile } from '../../src/slurm/profile';
import { fakeNccl, joule } from '../helpers/run';
import { useSlurmCluster } from '../helpers/slurm-cluster';

const trainArgs = ['--model', 'mlp', '--train-size', '192', '--test-size', '64', '--max-steps', '3', '--seed', '7', '--lbs', '32'];

describe('joule compare across two environments', function () {
  this.timeout(240_000);
  const cluster = useSlurmCluster();
  let dir = '';
  let local = '';
  let remote = '';
  let withNccl = '';
  before(async function () {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'joule-compare-'));
    local = path.join(dir, 'local-run');
    remote = path.join(dir, 'cluster-run');
    const here = await joule(['train', '-n', '2', '--run-dir', local, ...trainArgs, '--json'], {}, { cwd: dir, timeoutMs: 120_000 });
    assert.equal(here.code, 0, here.stderr);
    // The same run where the addon finds an NCCL library (the fake one answers ncclGetVersion with 22105).
    withNccl = path.join(dir, 'nccl-run');
    const nccl = await joule(['train', '-n', '2', '--run-dir', withNccl, ...trainArgs, '--json'], { JOULE_NCCL_LIBRARY: fakeNccl }, { cwd: dir, timeoutMs: 120_000 });
    assert.equal(nccl.code, 0, nccl.stderr);
    // The private cluster as a second cluster profile: its own name and partition, ranks started by srun.
    const profile = { ...loadProfile('local'), name: 'privatecluster', description: 'the private two-node SLURM cluster of the tests', launcher: 'srun', slurm: { partition: cluster().partition } };
    delete (profile as Record<string, unknown>).$schema;
    const profileFile = path.join(dir, 'privatecluster.json');
    fs.writeFileSync(profileFile, JSON.stringify(profile));
    const output = path.join(dir, 'cluster-%j.out');
    const there = await joule(['sbatch', '--template', 'train', '--profile', profileFile, '--wait', '-N', '2', '--ntasks-per-node', '1', '-J', 'cmp', '-o', output, '--', '--run-dir', remote, ...trainArgs], cluster().env, { cwd: dir, timeoutMs: 180_000 });
    const jobId = /^(\d+)$/m.exec(there.stdout)?.[1];
    assert.equal(there.code, 0, `${there.stderr}\n${jobId ? fs.readFileSync(output.replace('%j', jobId), 'utf8') : ''}`);
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('puts the two runs side by side and finds the same loss curve bit for bit', async () => {
    const result = await joule(['compare', local, remote, '--json']);
    assert.equal(result.code, 0, result.stderr);
    const comparison = JSON.parse(result.stdout);
    assert.deepEqual(comparison.columns.map((c: { profile: string }) => c.profile), ['local', 'privatecluster']);
    const [check] = comparison.lossCurves;
    assert.equal(check.comparable, true, check.reason);
    assert.equal(check.bitwiseEqual, true);
    assert.equal(check.ok, true);
    assert.equal(check.steps, 3);
    const differs = Object.fromEntries(comparison.differences.map((d: { field: string; values: string[] }) => [d.field, d.values]));
    assert.deepEqual(differs.profile, ['local', 'privatecluster']);
    assert.deepEqual(differs.hosts, ['1', '2']);
    assert.deepEqual(differs.launcher, ['local', 'srun']);
    // The collectives each run actually used: shared memory on one node, TCP across the two SLURM nodes.
    assert.deepEqual(differs['collective backend'], ['shm', 'tcp']);
    assert.equal(comparison.same.NCCL, 'not found');
    assert.equal(comparison.same['tfjs backend'], 'wasm');
    assert.equal(comparison.same.seed, '7');
    // Every energy figure says where it came from; the two CPU-only runs have only the model.
    assert.deepEqual(comparison.energySources, ['model', 'model']);
    const figure = (key: string) => comparison.figures.find((f: { key: string }) => f.key === key).values;
    for (const value of figure('jPerSample')) assert.ok(value > 0);
    assert.deepEqual(figure('devices'), [2, 2]);
    assert.equal(figure('scalingEfficiency')[0], 1);

    const text = await joule(['compare', local, remote]);
    assert.match(text.stdout, /^energy source +model +model$/m);
    assert.match(text.stdout, /^Loss curve cluster-run vs local-run: bitwise equal over 3 steps$/m);
  });

  it('names the NCCL version a run found, and says its collectives did not go through it', async () => {
    const result = await joule(['compare', local, withNccl, '--json']);
    assert.equal(result.code, 0, result.stderr);
    const comparison = JSON.parse(result.stdout);
    const differs = Object.fromEntries(comparison.differences.map((d: { field: string; values: string[] }) => [d.field, d.values]));
    // Without a GPU the CUDA module is unusable, so auto keeps shared memory even with NCCL loaded.
    assert.deepEqual(differs.NCCL, ['not found', '2.21.5 (found; collectives on shm)']);
    assert.equal(comparison.same['collective backend'], 'shm');
    assert.equal(comparison.lossCurves[0].bitwiseEqual, true);
    const summary = JSON.parse(fs.readFileSync(path.join(withNccl, 'train-summary.json'), 'utf8'));
    assert.deepEqual(summary.comm, { backend: 'shm', ncclVersion: '2.21.5' });
    const text = await joule(['compare', local, withNccl]);
    assert.match(text.stdout, /^NCCL +not found +2\.21\.5 \(found; collectives on shm\)$/m);
  });

  it('flags a loss curve that drifts beyond the tolerance, and passes it within a wider one', async () => {
    const drifted = path.join(dir, 'drifted-run');
    fs.cpSync(remote, drifted, { recursive: true });
    const stepsFile = path.join(drifted, 'steps.jsonl');
    const lines = fs.readFileSync(stepsFile, 'utf8').trim().split('\n').map((line) => JSON.parse(line));
    const target = lines.find((line) => line.rank === 0 && line.step === 1);
    target.loss *= 1 + 1e-6;
    fs.writeFileSync(stepsFile, `${lines.map((line) => JSON.stringify(line)).join('\n')}\n`);
    const strict = await joule(['compare', local, drifted, '--json', '--fail-on-drift']);
    assert.equal(strict.code, 1);
    const [check] = JSON.parse(strict.stdout).lossCurves;
    assert.equal(check.bitwiseEqual, false);
    assert.equal(check.firstDriftStep, 1);
    assert.ok(Math.abs(check.maxRelDiff - 1e-6) < 1e-9, String(check.maxRelDiff));
    const loose = await joule(['compare', local, drifted, '--json', '--fail-on-drift', '--loss-tolerance', '1e-4']);
    assert.equal(loose.code, 0, loose.stderr);
    assert.equal(JSON.parse(loose.stdout).lossCurves[0].ok, true);
  });

  it('writes one CSV row per run with the figures, the energy source and what differs', async () => {
    const result = await joule(['compare', local, remote, '--csv']);
    assert.equal(result.code, 0, result.stderr);
    const rows = parse(result.stdout, { columns: true }) as Record<string, string>[];
    assert.equal(rows.length, 2);
    assert.deepEqual(rows.map((r) => r.energySource), ['model', 'model']);
    assert.deepEqual(rows.map((r) => r.profile), ['local', 'privatecluster']);
    assert.ok(Number(rows[0]['jPerSample [J]']) > 0);
  });

  it('refuses a directory that holds no run', async () => {
    const result = await joule(['compare', local, dir]);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /is not a run directory \(no readable run\.json\) \[JOULE_BAD_ARGUMENT\]/);
  });
});
