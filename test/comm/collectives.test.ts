// The shm and tcp backends through the Communicator API, with ranks as separate processes.
import assert from 'node:assert/strict';
import path from 'node:path';
import { launchRanks, type RankResult } from './launch-ranks';

const fixture = (name: string) => path.join(__dirname, 'fixtures', `${name}.ts`);

function reports(results: RankResult[]): Record<string, unknown>[] {
  return results.map((r) => {
    assert.ok(r.report, `rank ${r.rank} printed no report (exit ${r.code}): ${r.stdout}${r.stderr}`);
    return r.report as Record<string, unknown>;
  });
}

type Outcome = { code: string; message: string };
const list = (ranks: number[]) => `${ranks.length === 1 ? 'rank' : 'ranks'} ${ranks.join(',')}`;
const ranksExcept = (size: number, ...except: number[]) => Array.from({ length: size }, (_, r) => r).filter((r) => !except.includes(r));

// The failures fixture's 'mismatch' scenario: every case fails every rank naming what each rank passed.
function checkMismatches(report: Record<string, unknown>, size: number): void {
  const expectations: Record<string, RegExp[]> = {
    count: [new RegExp(`${list(ranksExcept(size, size - 1))} passed allreduce\\(count=1000, dtype=f32, op=sum`), new RegExp(`rank ${size - 1} passed allreduce\\(count=1001, dtype=f32, op=sum`)],
    op: [new RegExp(`rank 0 passed allreduce\\(count=100000, dtype=f32, op=max.*${list(ranksExcept(size, 0))} passed allreduce\\(count=100000, dtype=f32, op=sum`)],
    kind: [new RegExp(`rank 0 passed broadcast\\(count=8, dtype=f32, root=0.*${list(ranksExcept(size, 0))} passed allreduce`)],
    avg: [new RegExp(`${list(ranksExcept(size, 1))} passed allreduce\\(count=64, dtype=f32, op=sum(, #\\d+)?\\)`), /rank 1 passed allreduce\(count=64, dtype=f32, op=avg/],
    wire: [new RegExp(`${list(ranksExcept(size, size - 1))} passed allreduce\\(count=64, dtype=f32, op=sum(, #\\d+)?\\)`), new RegExp(`rank ${size - 1} passed allreduce\\(count=64, dtype=f32, op=sum, wire=bf16`)],
    root: [new RegExp(`${list(ranksExcept(size, 2))} passed broadcast\\(count=64, dtype=f32, root=${size - 1}`), /rank 2 passed broadcast\(count=64, dtype=f32, root=1/],
    reduceRoot: [/rank 0 passed reduce\(count=64, dtype=f32, op=max, root=0/, new RegExp(`${list(ranksExcept(size, 0))} passed reduce\\(count=64, dtype=f32, op=max, root=1`)],
  };
  for (const [key, patterns] of Object.entries(expectations)) {
    const outcome = report[key] as Outcome;
    assert.equal(outcome.code, 'JOULE_COLLECTIVE_MISMATCH', `${key} on rank ${String(report.rank)}: ${outcome.message}`);
    for (const pattern of patterns) assert.match(outcome.message, pattern, key);
  }
  assert.deepEqual(report.after, [size, 2 * size]);
}

for (const backend of ['shm', 'tcp'] as const) {
describe(`comm: ${backend} backend`, function () {
  // Small pipeline pieces so modest sizes cross many of them (the minimum the variables accept).
  // tcp with 4 ranks: up to 4 KiB recursive doubling, up to 32 KiB halving-doubling, then the ring
  // (5003 elements take halving-doubling in 2- and 4-byte types and the ring in 8-byte ones).
  const env = { TEST_BACKEND: backend, JOULE_TCP_PIECE_BYTES: '4096', JOULE_TCP_SMALL_BYTES: '4096', JOULE_TCP_HALVING_BYTES: '32768' };
  this.timeout(120_000);

  const cases = backend === 'shm' ? ([[2, '0,1,7,300,5003,40001'], [4, '0,1,5,300,5003']] as const) : ([[2, '0,1,7,300,5003'], [3, '0,1,5,300,5003'], [4, '0,1,300,5003']] as const);
  for (const [size, counts] of cases) {
    it(`every collective, op and dtype matches the reference on ${size} ranks (in and out of place)`, async () => {
      const results = await launchRanks(fixture('correctness'), size, { ...env, TEST_COUNTS: counts });
      for (const report of reports(results)) {
        assert.equal(report.error, undefined, String(report.error));
        assert.deepEqual(report.failures, []);
        assert.equal(report.backend, backend);
        assert.ok((report.checked as number) > 10_000, `only ${report.checked} values checked`);

      }
      assert.deepEqual(results.map((r) => r.code), Array(size).fill(0));
    });
  }

  // 4 tcp ranks: small reductions send their first exchange behind the header, which a mismatch must skip.
  for (const size of backend === 'tcp' ? [3, 4] : [3]) {
    it(`fails every rank with JOULE_COLLECTIVE_MISMATCH naming what each rank passed, then keeps working (${size} ranks)`, async () => {
      for (const report of reports(await launchRanks(fixture('failures'), size, { ...env, TEST_SCENARIO: 'mismatch' }))) checkMismatches(report, size);
    });
  }

  it('times out with JOULE_TIMEOUT naming the rank that did not arrive', async () => {
    const all = reports(await launchRanks(fixture('failures'), 3, { ...env, TEST_SCENARIO: 'timeout' }));
    for (const report of all.slice(0, 2)) {
      const timeout = report.timeout as { code: string; message: string };
      assert.equal(timeout.code, 'JOULE_TIMEOUT');
      assert.match(timeout.message, /allreduce #2 timed out after 0.5 s on rank \d: rank 2 did not arrive/);
    }
  });

  it('ends an in-flight collective with JOULE_ABORTED when a rank dies (the coordinator aborts)', async () => {
    const results = await launchRanks(fixture('failures'), 2, { ...env, TEST_SCENARIO: 'death' });
    assert.equal(results[1].code, 17);
    const report = results[0].report as Record<string, { code: string; message: string }>;
    if (backend === 'shm') {
      assert.equal(report.death.code, 'JOULE_ABORTED');
      assert.match(report.death.message, /allreduce #2 on rank 0 aborted: .*rank 1 on host .* exited with code 17/);
    } else {
      // The closed socket usually tells first; the coordinator's abort is the other way it ends.
      assert.ok(['JOULE_RANK_FAILED', 'JOULE_ABORTED'].includes(report.death.code), report.death.message);
      assert.match(report.death.message, /connection to rank 1 closed|rank 1 on host .* exited with code 17/);
    }
    assert.equal(report.later.code, 'JOULE_ABORTED');
  });

  for (const size of backend === 'tcp' ? [2, 4] : [2]) {
    it(`reduces with a bf16/f16 wire within the documented bound and reports f16 overflow (${size} ranks)`, async () => {
      for (const report of reports(await launchRanks(fixture('failures'), size, { ...env, TEST_SCENARIO: 'wire' }))) {
        const overflow = report.overflow as { code: string; message: string };
        assert.equal(overflow.code, 'JOULE_WIRE_OVERFLOW');
        assert.match(overflow.message, /\d+ element\(s\) overflowed to ±Inf in the f16 wire format/);
        assert.equal((report.inputOverflow as { code: string }).code, 'JOULE_WIRE_OVERFLOW');
        // 40000 and 1 from every rank: with 2 ranks 80000 in bf16 is 79872 (8 significant bits); the
        // small integer sum is exact; with 4, partial sums round too, within the bound (n + 1) u sum|x|.
        const [big, small] = report.bf16Value as number[];
        assert.equal(small, size);
        if (size === 2) assert.equal(big, 79872);
        else assert.ok(Math.abs(big - 40000 * size) <= (size + 1) * 2 ** -8 * 40000 * size, `bf16 sum ${big}`);
        for (const [key, ratio] of Object.entries(report.worstErrorOverBound as Record<string, number>)) {
          assert.ok(ratio <= 1, `${key}: error is ${ratio} times the bound`);
          assert.ok(ratio > 0, `${key}: no rounding error at all: the wire format was not used`);
        }
      }
    });
  }
});
}

describe('comm: hierarchical backend (auto across pretend nodes: shm inside, tcp between node leaders)', function () {
  this.timeout(120_000);
  const env = { TEST_BACKEND: 'auto', JOULE_TCP_PIECE_BYTES: '4096', JOULE_TCP_SMALL_BYTES: '4096' };
  // 4 ranks on nodes {0,1},{2,3}; 3 ranks on uneven nodes {0,1},{2} (avg still divides by all 3 ranks);
  // 5 ranks on 4 nodes, so the leaders run tcp's recursive doubling (300 elements) and halving-doubling (5003).
  const counts: Record<number, string> = { 3: '0,1,5003', 4: '0,1,7,300,5003', 5: '300,5003' };
  for (const [size, nodes, pretendNodes] of [[4, '0,0,1,1', 2], [3, '0,0,1', 2], [5, '0,0,1,2,3', 4]] as const) {
    it(`allreduce (every op, avg included), reduce and broadcast from every root match the reference on ${size} ranks, nodes ${nodes}`, async () => {
      const results = await launchRanks(fixture('correctness'), size, { ...env, JOULE_TCP_HALVING_BYTES: '65536', TEST_COUNTS: counts[size] }, { pretendNodes });
      const nodeOf = nodes.split(',').map(Number);
      for (const [rank, report] of reports(results).entries()) {
        assert.equal(report.error, undefined, String(report.error));
        assert.deepEqual(report.failures, []);
        assert.equal(report.backend, 'hierarchical');
        // The levels did the work: none of the hierarchical calls ran on the flat communicator.
        const calls = report.calls as { hierarchical: number; flat: number };
        const levels = report.levels as { node?: string; nodeSize: number; nodeOps: number; leaders?: string; leaderOps?: number };
        assert.equal(report.flatOps, calls.flat);
        const shared = nodeOf.filter((n) => n === nodeOf[rank]).length > 1;
        assert.equal(levels.nodeSize, nodeOf.filter((n) => n === nodeOf[rank]).length);
        if (shared) {
          assert.equal(levels.node, 'shm');
          assert.ok(levels.nodeOps >= 2 * calls.hierarchical, `${levels.nodeOps} node operations for ${calls.hierarchical} calls`);
        }
        const leader = nodeOf.indexOf(nodeOf[rank]) === rank;
        assert.equal(levels.leaders, leader ? 'tcp' : undefined);
        if (leader) assert.equal(levels.leaderOps, calls.hierarchical);
      }
      assert.match(results[0].stderr, /allreduce, reduce and broadcast go shm inside nodes, tcp between them/);
    });

    // Each kind of disagreement is seen on one level only (inside a node, or between leaders); every
    // rank must still fail, with every rank's arguments named, and the communicator must stay usable.
    it(`fails every rank with JOULE_COLLECTIVE_MISMATCH naming what each rank passed, then keeps working (${size} ranks, nodes ${nodes})`, async () => {
      for (const report of reports(await launchRanks(fixture('failures'), size, { ...env, TEST_SCENARIO: 'mismatch' }, { pretendNodes }))) checkMismatches(report, size);
    });
  }

  it('times out on every rank that arrived when the last rank never does (JOULE_TIMEOUT, never a mismatch or a hang)', async () => {
    const all = reports(await launchRanks(fixture('failures'), 4, { ...env, TEST_SCENARIO: 'timeout' }, { pretendNodes: 2 }));
    for (const report of all.slice(0, 3)) {
      const timeout = report.timeout as Outcome;
      assert.equal(timeout.code, 'JOULE_TIMEOUT', timeout.message);
      // Where a level timed out, its message maps its ranks to the communicator's (rank 3 is rank 1 of its node).
      assert.match(timeout.message, /timed out after 0.5 s.*are its ranks|failed with JOULE_TIMEOUT on the node of rank 2|failed between nodes with JOULE_TIMEOUT on this node's leader \(rank 0\)/);
    }
  });

  it('ends an in-flight collective on every rank with JOULE_ABORTED or JOULE_RANK_FAILED when a rank dies', async () => {
    const results = await launchRanks(fixture('failures'), 4, { ...env, TEST_SCENARIO: 'death' }, { pretendNodes: 2 });
    assert.equal(results[3].code, 17);
    for (const result of results.slice(0, 3)) {
      const report = result.report as Record<string, Outcome>;
      assert.ok(['JOULE_ABORTED', 'JOULE_RANK_FAILED'].includes(report.death.code), report.death.message);
      // The later barrier runs on the flat mesh, which the failed allreduce did not use: it fails by itself.
      assert.ok(['JOULE_ABORTED', 'JOULE_RANK_FAILED'].includes(report.later.code), report.later.message);
    }
  });

  it('reduces with a bf16/f16 wire between nodes within the documented bound; every rank reports f16 overflow', async () => {
    for (const report of reports(await launchRanks(fixture('failures'), 4, { ...env, TEST_SCENARIO: 'wire' }, { pretendNodes: 2 }))) {
      assert.equal(report.error, undefined, String(report.error));
      // Overflow happens on the leaders (the node sums 80000 and 70000 are finite in f32); non-leaders too must throw it.
      const overflow = report.overflow as Outcome;
      assert.equal(overflow.code, 'JOULE_WIRE_OVERFLOW');
      assert.match(overflow.message, /\d+ element\(s\) overflowed to ±Inf in the f16 wire format/);
      assert.equal((report.inputOverflow as Outcome).code, 'JOULE_WIRE_OVERFLOW');
      // Each node's exact sum 80000 rounds to bf16 79872 once between nodes; 79872 * 2 is exact; 1 * 4 is exact.
      assert.deepEqual(report.bf16Value, [159744, 4]);
      for (const [key, ratio] of Object.entries(report.worstErrorOverBound as Record<string, number>)) {
        assert.ok(ratio <= 1, `${key}: error is ${ratio} times the bound`);
        assert.ok(ratio > 0, `${key}: no rounding error at all: the wire format was not used`);
      }
    }
  });
});
