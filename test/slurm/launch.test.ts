// Ranks under SLURM for real: bare srun across the private cluster's two nodes, and `joule sbatch --wait` of the launch template leaving a complete run record.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { joule, run } from '../helpers/run';
import { useSlurmCluster } from '../helpers/slurm-cluster';
import { assertValidRunDir } from '../helpers/run-schema';
import type { Identity } from '../../src/world/types';

const fixture = path.join(__dirname, 'fixtures', 'ranks.js');

/** What each fixture rank prints: its identity as joule.init() gave it, and what SLURM said. */
interface RankReport extends Pick<Identity, 'rank' | 'size' | 'localRank' | 'localSize' | 'nodeRank' | 'nodes' | 'host'> {
  slurmNodeId: string;
  slurmLocalId: string;
  secretSha256: string;
  peers: { rank: number; host: string }[];
}

/** The ranks' JSON lines from mixed output (the launcher prefixes lines with `[rank]`). */
function reports(output: string): RankReport[] {
  return output
    .split('\n')
    .map((line) => /(\{"rank".*\})\s*$/.exec(line)?.[1])
    .filter((json): json is string => json !== undefined)
    .map((json) => JSON.parse(json) as RankReport)
    .sort((a, b) => a.rank - b.rank);
}

/** Four ranks over n1 and n2, SLURM's block layout: ranks 0-1 on n1, 2-3 on n2. */
function assertTwoByTwo(ranks: RankReport[]): void {
  assert.deepEqual(
    ranks.map((r) => r.rank),
    [0, 1, 2, 3],
  );
  for (const r of ranks) {
    const where = `rank ${r.rank}`;
    assert.equal(r.size, 4, where);
    assert.equal(r.nodes, 2, where);
    assert.equal(r.nodeRank, r.rank >> 1, where);
    assert.equal(r.localRank, r.rank & 1, where);
    assert.equal(r.localSize, 2, where);
    assert.equal(String(r.nodeRank), r.slurmNodeId, where);
    assert.equal(String(r.localRank), r.slurmLocalId, where);
    assert.equal(r.host, `n${r.nodeRank + 1}`, where);
    // Every rank read every peer's entry through the coordinator.
    assert.deepEqual(
      r.peers.map((p) => `${p.rank}@${p.host}`),
      ['0@n1', '1@n1', '2@n2', '3@n2'],
      where,
    );
  }
}

describe('joule ranks on the private SLURM cluster', function () {
  const cluster = useSlurmCluster();
  let dir = '';
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'joule-ranks-'));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('srun -N2 -n4: ranks started by bare srun find each other through rank 0 on the first node', async () => {
    const { env } = cluster();
    const secret = crypto.randomBytes(32).toString('hex');
    const result = await run('srun', ['-N2', '-n4', '--kill-on-bad-exit=1', process.execPath, fixture], {
      env: { ...env, JOULE_JOB_SECRET: secret, JOULE_RUN_DIR: path.join(dir, 'bare-srun') },
      cwd: dir,
      timeoutMs: 60_000,
    });
    assert.equal(result.code, 0, `${result.stdout}\n${result.stderr}`);
    assertTwoByTwo(reports(result.stdout));
    // Rank 0 hosted the coordinator, and the run record with it.
    const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'bare-srun', 'run.json'), 'utf8'));
    assert.equal(manifest.status, 'succeeded');
    assert.equal(manifest.size, 4);
    assert.equal(manifest.launcher.mode, 'srun');
    assert.deepEqual([...manifest.hosts].sort(), ['n1', 'n2']);
  });

  it('joule sbatch --wait of the launch template: four ranks on two nodes and a complete run record', async () => {
    const { env } = cluster();
    const output = path.join(dir, 'record-%j.out');
    const result = await joule(['sbatch', '--wait', '--json', '-N', '2', '--ntasks-per-node', '2', '-J', 'record', '-o', output, '--', process.execPath, fixture], env, {
      cwd: dir,
      timeoutMs: 120_000,
    });
    const summary = JSON.parse(result.stdout || '{}');
    const jobOutput = summary.jobId ? fs.readFileSync(output.replace('%j', summary.jobId), 'utf8') : '';
    assert.equal(result.code, 0, `${result.stderr}\n${jobOutput}`);
    assert.equal(summary.exitCode, 0);
    assertTwoByTwo(reports(jobOutput));

    const runs = fs.readdirSync(path.join(dir, 'runs')).filter((name) => name.endsWith('-record'));
    assert.equal(runs.length, 1, `run directories: ${runs.join(', ')}`);
    const runDir = path.join(dir, 'runs', runs[0]);
    const manifest = JSON.parse(fs.readFileSync(path.join(runDir, 'run.json'), 'utf8'));
    assert.equal(manifest.status, 'succeeded');
    assert.equal(manifest.exitCode, 0);
    assert.equal(manifest.size, 4);
    assert.equal(manifest.launcher.mode, 'srun');
    assert.equal(manifest.profile.name, 'local');
    assert.deepEqual([...manifest.hosts].sort(), ['n1', 'n2']);
    assert.deepEqual(
      manifest.ranks.map((r: { rank: number; exitCode: number; host: string; nodeRank: number; localRank: number }) => [r.rank, r.exitCode, r.host, r.nodeRank, r.localRank]),
      [
        [0, 0, 'n1', 0, 0],
        [1, 0, 'n1', 0, 1],
        [2, 0, 'n2', 1, 0],
        [3, 0, 'n2', 1, 1],
      ],
    );
    assert.equal(manifest.environment.SLURM_JOB_ID, summary.jobId);
    assert.equal(manifest.environment.JOULE_JOB_SECRET, undefined);
    assert.ok(manifest.endedAt && manifest.durationS > 0);
    // The secret made inside the job appears nowhere in the record.
    const secretLike = /\b[0-9a-f]{64}\b/;
    for (const file of fs.readdirSync(runDir)) {
      assert.doesNotMatch(fs.readFileSync(path.join(runDir, file), 'utf8'), secretLike, file);
    }
    const events = fs.readFileSync(path.join(runDir, 'events.jsonl'), 'utf8').trim().split('\n').map((line) => JSON.parse(line));
    assert.ok(events.length > 0);
    assertValidRunDir(runDir);
  });

  it('joule sbatch --template srun --wait: ranks started by bare srun join with the secret the job script made, and rank 0 writes the record', async () => {
    const { env } = cluster();
    const output = path.join(dir, 'bare-%j.out');
    const result = await joule(['sbatch', '--template', 'srun', '--wait', '--json', '-N', '2', '--ntasks-per-node', '2', '-J', 'bare', '-o', output, '--', process.execPath, fixture], env, {
      cwd: dir,
      timeoutMs: 120_000,
    });
    const summary = JSON.parse(result.stdout || '{}');
    const jobOutput = summary.jobId ? fs.readFileSync(output.replace('%j', summary.jobId), 'utf8') : '';
    assert.equal(result.code, 0, `${result.stderr}\n${jobOutput}`);
    assertTwoByTwo(reports(jobOutput));
    const runs = fs.readdirSync(path.join(dir, 'runs')).filter((name) => name.endsWith('-bare'));
    assert.equal(runs.length, 1, `run directories: ${runs.join(', ')}`);
    const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'runs', runs[0], 'run.json'), 'utf8'));
    assert.equal(manifest.status, 'succeeded');
    assert.equal(manifest.size, 4);
    assert.equal(manifest.launcher.jobId, summary.jobId);
    assertValidRunDir(path.join(dir, 'runs', runs[0]));
  });

  it('joule launch adopts the job secret a job script exported instead of making another', async () => {
    const secret = crypto.randomBytes(32).toString('hex');
    const result = await joule(['launch', '-n', '2', '--launcher', 'local', '--run-dir', path.join(dir, 'adopt'), '--', process.execPath, fixture], { JOULE_JOB_SECRET: secret }, { cwd: dir });
    assert.equal(result.code, 0, result.stderr);
    const hash = crypto.createHash('sha256').update(secret).digest('hex');
    assert.deepEqual(
      reports(result.stdout).map((r) => r.secretSha256),
      [hash, hash],
    );
  });

  it('scancel of a running joule sbatch job (SLURM sends SIGTERM, as at the time limit) leaves run.json "terminated"', async () => {
    const { env } = cluster();
    const behave = path.join(__dirname, '..', 'launch', 'fixtures', 'behave.js');
    const submitted = await joule(['sbatch', '-N', '2', '--ntasks-per-node', '1', '-J', 'cancelled', '-o', path.join(dir, 'cancelled-%j.out'), '--', process.execPath, behave, 'hang'], env, { cwd: dir });
    assert.equal(submitted.code, 0, submitted.stderr);
    const jobId = submitted.stdout.trim();
    const runs = path.join(dir, 'runs');
    const manifest = async (until: (status: string) => boolean) => {
      for (let i = 0; i < 600; i++) {
        const name = fs.existsSync(runs) ? fs.readdirSync(runs).find((entry) => entry.endsWith('-cancelled')) : undefined;
        const file = name && path.join(runs, name, 'run.json');
        const record = file && fs.existsSync(file) ? JSON.parse(fs.readFileSync(file, 'utf8')) : undefined;
        if (record && until(record.status) && (record.status !== 'running' || record.ranks.every((r: { state: string }) => r.state === 'joined'))) return record;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      const output = fs.readFileSync(path.join(dir, `cancelled-${jobId}.out`), 'utf8');
      assert.fail(`run.json never reached the expected status; job output:\n${output}`);
    };
    // Both ranks have joined and hang: the job is really running when it is cancelled.
    await manifest((status) => status === 'running');
    assert.equal((await run('scancel', [jobId], { env })).code, 0);
    const record = await manifest((status) => status !== 'running');
    assert.equal(record.status, 'terminated');
    assert.equal(record.size, 2);
    assert.ok(record.endedAt);
  });
});
