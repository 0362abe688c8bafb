// Point-to-point messages between two ranks are received in the order sent, each checked against its own
// header: a sender running messages ahead of the receiver, with different tags and lengths, is no mismatch.
import assert from 'node:assert/strict';
import path from 'node:path';
import { launchRanks } from './launch-ranks';

interface Received { ok: boolean; code?: string; message?: string; intact: boolean }

for (const backend of ['shm', 'tcp'] as const) {
  describe(`comm: ${backend} send/recv order`, function () {
    this.timeout(120_000);

    it('receives messages sent ahead with other tags and lengths in order, and still catches a wrong tag', async () => {
      const results = await launchRanks(path.join(__dirname, 'fixtures', 'ordered-messages.ts'), 2, { TEST_BACKEND: backend });
      const [sender, receiver] = results.map((r) => {
        assert.ok(r.report, `rank ${r.rank} printed no report (exit ${r.code}): ${r.stdout}${r.stderr}`);
        const report = r.report as Record<string, unknown>;
        assert.equal(report.error, undefined, String(report.error));
        return report;
      });
      const received = receiver.received as Record<string, Received>;
      for (const name of ['first', 'second', 'large']) {
        assert.equal(received[name].ok, true, `${name}: ${received[name].message}`);
        assert.equal(received[name].intact, true, `${name}: the data differs from what was sent`);
      }
      assert.deepEqual(sender.reply, [7, 8, 9, 10, 11]);
      const wrong = receiver.wrongTagRecv as Received;
      assert.equal(wrong.code, 'JOULE_COLLECTIVE_MISMATCH');
      assert.match(wrong.message!, /rank 0 passed send\(count=10, dtype=f32, tag=5.*rank 1 passed recv\(count=10, dtype=f32, tag=6/);
      assert.deepEqual(results.map((r) => r.code), [0, 0]);
    });
  });
}
