// world.comm and world.split through `joule launch` (the real rank runtime and coordinator).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { joule } from '../helpers/run';
import { assertValidRunDir } from '../helpers/run-schema';

const fixture = path.join(__dirname, 'fixtures', 'launched.js');

function lines(stdout: string): Record<string, unknown>[] {
  return stdout
    .split('\n')
    .map((l) => /^\[\d+\] (\{.*\})$/.exec(l)?.[1])
    .filter((l): l is string => l !== undefined)
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .sort((a, b) => (a.rank as number) - (b.rank as number));
}

describe('comm under joule launch', function () {
  this.timeout(60_000);
  let runDir: string;
  beforeEach(() => (runDir = fs.mkdtempSync(path.join(os.tmpdir(), 'joule-comm-launch-'))));
  afterEach(() => {
    if (fs.existsSync(`${runDir}/run.json`)) assertValidRunDir(runDir);
    fs.rmSync(runDir, { recursive: true, force: true });
  });

  for (const [backend, ranks] of [['auto', 4], ['tcp', 3]] as const) {
    it(`world.comm allreduces and world.split groups ranks (${backend}, ${ranks} ranks)`, async () => {
      const result = await joule(['launch', '-n', String(ranks), '--run-dir', runDir, '--', process.execPath, fixture], { JOULE_COMM_BACKEND: backend });
      assert.equal(result.code, 0, result.stderr);
      const reports = lines(result.stdout);
      assert.equal(reports.length, ranks);
      const total = (ranks * (ranks + 1)) / 2;
      for (const r of reports) {
        const rank = r.rank as number;
        assert.deepEqual(r.sum, [total, 10 * ranks]);
        assert.equal(r.backend, backend === 'auto' ? 'shm' : 'tcp');
        // Even and odd ranks, ordered by world rank; max over the group.
        const group = Array.from({ length: ranks }, (_, i) => i).filter((i) => i % 2 === rank % 2);
        assert.deepEqual(r.split, { size: group.length, rank: group.indexOf(rank), max: Math.max(...group) });
        assert.equal(r.after, 'ok');
      }
    });
  }

  it('--pretend-nodes 2 places 5 ranks as srun would (3 + 2) and world.comm goes hierarchical across the pretend nodes', async () => {
    const result = await joule(['launch', '-n', '5', '--pretend-nodes', '2', '--run-dir', runDir, '--', process.execPath, fixture], { JOULE_POWER: 'off' });
    assert.equal(result.code, 0, result.stderr);
    const reports = lines(result.stdout);
    // [node, nodes, local rank, local size] by rank: block distribution, the first node takes the extra rank.
    assert.deepEqual(reports.map((r) => r.node), [[0, 2, 0, 3], [0, 2, 1, 3], [0, 2, 2, 3], [1, 2, 0, 2], [1, 2, 1, 2]]);
    for (const r of reports) {
      assert.equal(r.backend, 'hierarchical');
      assert.deepEqual(r.sum, [15, 50]);
      assert.deepEqual(r.avg, [2, 5]);
      assert.deepEqual(r.broadcast, [7, 8, 4]);
      const levels = r.levels as { node: string; leaders?: string };
      assert.equal(levels.node, 'shm');
      assert.equal(levels.leaders, [0, 3].includes(r.rank as number) ? 'tcp' : undefined);
    }
    const manifest = JSON.parse(fs.readFileSync(path.join(runDir, 'run.json'), 'utf8')) as { config: { pretendNodes: number } };
    assert.equal(manifest.config.pretendNodes, 2);
  });

  it('--pretend-nodes is refused with JOULE_BAD_ARGUMENT beyond the rank count', async () => {
    const result = await joule(['launch', '-n', '2', '--pretend-nodes', '3', '--run-dir', runDir, '--', process.execPath, fixture]);
    assert.equal(result.code, 2, result.stderr);
    assert.match(result.stderr, /--pretend-nodes must be an integer from 1 to the rank count \(2\), got 3 \[JOULE_BAD_ARGUMENT\]/);
  });

  it('a rank that dies ends the others\' collective with JOULE_ABORTED through the launcher', async () => {
    const result = await joule(['launch', '-n', '3', '--run-dir', runDir, '--', process.execPath, fixture], { TEST_DIE_RANK: '1' });
    assert.equal(result.code, 9);
    const reports = lines(result.stdout);
    assert.deepEqual(reports.map((r) => r.rank), [0, 2]);
    for (const r of reports) {
      const after = r.after as { code: string; message: string };
      assert.equal(after.code, 'JOULE_ABORTED');
      assert.match(after.message, /rank 1 on host .* exited with code 9/);
    }
  });

  for (const backend of ['shm', 'tcp'] as const) {
    it(`keeps the event loop and heartbeats going while a collective waits for seconds (${backend})`, async () => {
      // 0.2 s heartbeats, 3 misses allowed: a rank whose event loop stalled for the 2 s wait would be declared dead.
      const result = await joule(['launch', '-n', '2', '--heartbeat', '0.2', '--heartbeat-misses', '3', '--run-dir', runDir, '--', process.execPath, path.join(__dirname, 'fixtures', 'long-wait.js')], {
        JOULE_COMM_BACKEND: backend,
        TEST_LATE_S: '2',
      });
      assert.equal(result.code, 0, result.stderr);
      const [first] = lines(result.stdout);
      assert.equal(first.backend, backend);
      assert.equal(first.sum, 3);
      assert.ok((first.waitedS as number) >= 1.5, `rank 0 waited ${first.waitedS} s inside the allreduce`);
      // A timer every 20 ms over about 2 s: far more than a handful of ticks unless the loop was blocked.
      assert.ok((first.ticks as number) >= 20, `only ${first.ticks} timer ticks during the wait`);
    });
  }
});
