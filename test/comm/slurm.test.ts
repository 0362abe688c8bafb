// Collectives across the private SLURM cluster's two nodes: bare srun -N2 -n4, so world.comm sees two
// hosts, auto picks tcp between nodes and shm inside them (tcp dials the address other nodes can reach);
// and the whole correctness matrix (every collective, op, dtype, size class) started by srun on both nodes,
// joined through joule.init() (no file shared between the nodes).
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { jouleBin, run } from '../helpers/run';
import { useSlurmCluster } from '../helpers/slurm-cluster';
import { assertValidRunDir } from '../helpers/run-schema';

const fixture = path.join(__dirname, 'fixtures', 'launched.js');
const correctness = path.join(__dirname, 'fixtures', 'correctness.ts');

describe('comm across the two SLURM test nodes', function () {
  this.timeout(90_000);
  const cluster = useSlurmCluster();
  let dir = '';
  before(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'joule-comm-slurm-'))));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('srun -N2 -n4: world.comm allreduces (sum, avg) and broadcasts hierarchically (shm + tcp) and world.split groups ranks', async () => {
    const { env } = cluster();
    const result = await run('srun', ['-N2', '-n4', '--kill-on-bad-exit=1', process.execPath, fixture], {
      env: { ...env, JOULE_JOB_SECRET: crypto.randomBytes(32).toString('hex'), JOULE_RUN_DIR: path.join(dir, 'run') },
      cwd: dir,
      timeoutMs: 60_000,
    });
    assert.equal(result.code, 0, `${result.stdout}\n${result.stderr}`);
    // Rank 0 hosted the coordinator and wrote the record.
    assertValidRunDir(path.join(dir, 'run'));
    const reports = result.stdout
      .split('\n')
      .map((l) => /(\{"rank".*\})\s*$/.exec(l)?.[1])
      .filter((l): l is string => l !== undefined)
      .map((l) => JSON.parse(l) as { rank: number; sum: number[]; avg: number[]; broadcast: number[]; levels: unknown; backend: string; split: unknown; after: unknown })
      .sort((a, b) => a.rank - b.rank);
    assert.deepEqual(reports.map((r) => r.rank), [0, 1, 2, 3]);
    for (const r of reports) {
      // Two ranks per node: allreduce is hierarchical (shm inside a node, tcp between nodes).
      assert.equal(r.backend, 'hierarchical');
      assert.deepEqual(r.sum, [10, 40]);
      // avg over all 4 ranks of [r, 2r + 1]; the broadcast from rank 3 (not a node leader).
      assert.deepEqual(r.avg, [1.5, 4]);
      assert.deepEqual(r.broadcast, [7, 8, 3]);
      // The levels did it: shm inside each node (3 node operations per call here), tcp between ranks 0 and 2.
      const levels = r.levels as { node: string; nodeOps: number; leaders?: string };
      assert.equal(levels.node, 'shm');
      assert.ok(levels.nodeOps >= 6, `${levels.nodeOps} node operations`);
      assert.equal(levels.leaders, r.rank % 2 === 0 ? 'tcp' : undefined);
      assert.deepEqual(r.split, { size: 2, rank: r.rank >> 1, max: r.rank % 2 === 0 ? 2 : 3 });
      assert.equal(r.after, 'ok');
    }
  });

  for (const [tasks, backend] of [['2', 'tcp'], ['4', 'hierarchical']] as const) {
    it(`srun -N2 -n${tasks}: every collective, op and dtype matches the reference across the nodes (${backend})`, async () => {
      const { env } = cluster();
      // joule.init() under bare srun: rank 0 hosts the coordinator, every rank reaches it over the network.
      const result = await run('srun', ['-N2', `-n${tasks}`, '--kill-on-bad-exit=1', '--label', process.execPath, '--require', require.resolve('tsx/cjs'), correctness], {
        env: { ...env, JOULE_JOB_SECRET: crypto.randomBytes(32).toString('hex'), JOULE_POWER: 'off', TEST_BACKEND: 'auto', TEST_COUNTS: '0,1,7,300,5003', JOULE_TCP_PIECE_BYTES: '4096', JOULE_TCP_SMALL_BYTES: '4096' },
        cwd: dir,
        timeoutMs: 80_000,
      });
      assert.equal(result.code, 0, `${result.stdout}\n${result.stderr}`);
      const reports = result.stdout
        .split('\n')
        .map((l) => /^\s*\d+: (\{.*\})\s*$/.exec(l)?.[1])
        .filter((l): l is string => l !== undefined)
        .map((l) => JSON.parse(l) as { rank: number; checked: number; failures: string[]; backend: string; error?: string })
        .sort((a, b) => a.rank - b.rank);
      assert.deepEqual(reports.map((r) => r.rank), Array.from({ length: Number(tasks) }, (_, r) => r), result.stdout);
      for (const r of reports) {
        assert.equal(r.error, undefined);
        assert.deepEqual(r.failures, []);
        assert.equal(r.backend, backend);
        assert.ok(r.checked > 10_000, `rank ${r.rank} checked only ${r.checked} values`);
      }
    });
  }

  it('srun -N2 -n4 joule bench allreduce: srun\'s tasks are the ranks, the hierarchy is timed through the promise loop, results checked', async () => {
    const { env } = cluster();
    const result = await run('srun', ['-N2', '-n4', '--kill-on-bad-exit=1', process.execPath, jouleBin, 'bench', 'allreduce', '-b', '4K', '-e', '64K', '-f', '16', '-n', '3', '-w', '1', '--op', 'avg', '--json'], {
      env: { ...env, JOULE_JOB_SECRET: crypto.randomBytes(32).toString('hex'), JOULE_RUN_DIR: path.join(dir, 'bench-run') },
      cwd: dir,
      timeoutMs: 60_000,
    });
    assert.equal(result.code, 0, `${result.stdout}\n${result.stderr}`);
    assertValidRunDir(path.join(dir, 'bench-run'));
    const report = JSON.parse(result.stdout) as { ranks: number; backend: string; loop: string; wrong: number; rows: { bytes: number }[] };
    assert.equal(report.ranks, 4);
    assert.equal(report.backend, 'hierarchical');
    assert.equal(report.loop, 'promise');
    assert.equal(report.wrong, 0);
    assert.deepEqual(report.rows.map((r) => r.bytes), [4096, 65536]);
    assert.match(result.stderr, /the hierarchical backend is timed with the promise loop/);
  });
});
