// world.comm and world.split through `joule launch` (the real rank runtime and coordinator).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { joule } from '../helpers/run';

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
  afterEach(() => fs.rmSync(runDir, { recursive: true, force: true }));

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
});
