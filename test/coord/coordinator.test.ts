// The coordinator and its client in one process: protocol checks, barriers, key-value, timeouts, refusals, aborts.
import assert from 'node:assert/strict';
import { CoordClient } from '../../src/coord/client';
import { decodeClient, encode, PROTOCOL_VERSION } from '../../src/coord/protocol';
import { curveServerKeys, newJobSecret, secretMatches, z85Encode } from '../../src/coord/security';
import { Coordinator, type CoordinatorSink } from '../../src/coord/server';
import type { BatchItem, FailureInfo } from '../../src/coord/protocol';
import { describeFailure, failureExitCode, failureStatus } from '../../src/coord/failure';
import { isJouleError } from '../../src/errors';

class Collect implements CoordinatorSink {
  events: Array<{ type: string; fields: Record<string, unknown> }> = [];
  warnings: string[] = [];
  items: Array<{ rank: number; item: BatchItem }> = [];
  event(type: string, fields: Record<string, unknown>): void {
    this.events.push({ type, fields });
  }
  records(rank: number, items: BatchItem[]): void {
    for (const item of items) this.items.push({ rank, item });
  }
  warn(message: string): void {
    this.warnings.push(message);
  }
}

interface Job {
  coordinator: Coordinator;
  sink: Collect;
  secret: string;
  clients: CoordClient[];
}

async function startJob(size: number, options: { secure?: boolean; joinTimeoutMs?: number } = {}): Promise<Job> {
  const sink = new Collect();
  const secret = newJobSecret();
  const coordinator = new Coordinator({
    secret,
    size,
    bindHost: '127.0.0.1',
    port: 0,
    runId: 'test-run',
    runDir: '/tmp/nowhere',
    heartbeatMs: 200,
    heartbeatMisses: 3,
    joinTimeoutMs: options.joinTimeoutMs ?? 20_000,
    secure: options.secure ?? false,
    sink,
  });
  await coordinator.start();
  return { coordinator, sink, secret, clients: [] };
}

function client(job: Job, rank: number, secret = job.secret, secure = false): CoordClient {
  const c = new CoordClient({
    endpoint: job.coordinator.endpoint,
    secret,
    secure,
    rank,
    size: job.coordinator.options.size,
    host: `host${rank}`,
    caps: { localRank: rank },
    heartbeatMs: 200,
    heartbeatMisses: 3,
    joinTimeoutMs: 20_000,
    warn: () => undefined,
  });
  job.clients.push(c);
  return c;
}

async function stop(job: Job): Promise<void> {
  for (const c of job.clients) await c.close();
  await job.coordinator.close();
}

describe('coordinator protocol', () => {
  it('round-trips messages with the version and rejects everything else with a reason', () => {
    const frame = encode({ t: 'kvset', id: 4, key: 'k', value: 'v' });
    assert.deepEqual(decodeClient(frame), { v: PROTOCOL_VERSION, t: 'kvset', id: 4, key: 'k', value: 'v' });
    assert.match(decodeClient(Buffer.from([0x82, 0xa1, 0x76])) as string, /not msgpack/);
    assert.match(decodeClient(encode({ t: 'hb' }).subarray(0, 1)) as string, /not msgpack|not a msgpack map/);
    assert.equal(decodeClient(Buffer.from([0x2a])), 'not a msgpack map');
    const { Packr } = require('msgpackr');
    const packr = new Packr({ useRecords: false });
    assert.match(decodeClient(packr.pack({ v: 2, t: 'hb' })) as string, /protocol version 2/);
    assert.match(decodeClient(packr.pack({ v: 1, t: 'nope' })) as string, /unknown message type "nope"/);
    assert.match(decodeClient(packr.pack({ v: 1, t: 'toString' })) as string, /unknown message type/);
    assert.match(decodeClient(packr.pack({ v: 1, t: 'kvset', id: 1, key: 3, value: 'v' })) as string, /field "key"/);
  });

  it('derives one CURVE key pair per secret (Z85 per RFC 32) and compares secrets exactly', () => {
    // RFC 32's test vector.
    assert.equal(z85Encode(Buffer.from([0x86, 0x4f, 0xd2, 0x6f, 0xb5, 0x59, 0xf7, 0x5b])), 'HelloWorld');
    const secret = newJobSecret();
    assert.equal(secret.length, 64, '256 bits as hex');
    assert.deepEqual(curveServerKeys(secret), curveServerKeys(secret));
    assert.notEqual(curveServerKeys(secret).publicKey, curveServerKeys(newJobSecret()).publicKey);
    assert.equal(curveServerKeys(secret).publicKey.length, 40);
    assert.equal(secretMatches(secret, secret), true);
    assert.equal(secretMatches(secret, secret.slice(0, -1)), false);
  });

  it('words failures with rank, host, cause and activity, and maps them to exit codes', () => {
    const failure: FailureInfo = { rank: 2, host: 'n7', pid: 9, kind: 'signal', signal: 'SIGSEGV', activity: 'allreduce #12', lastBarrier: 'epoch#3' };
    assert.equal(describeFailure(failure), 'rank 2 on host n7 (pid 9) was killed by SIGSEGV; last activity: "allreduce #12"; last barrier: "epoch#3"');
    assert.equal(failureExitCode(failure), 139);
    assert.equal(failureExitCode({ rank: 0, host: 'h', kind: 'exit', exitCode: 3 }), 3);
    assert.equal(failureExitCode({ rank: 0, host: 'h', kind: 'heartbeat' }), 1);
    assert.equal(failureStatus(failure), 'failed');
    assert.equal(failureStatus({ ...failure, signal: 'SIGTERM' }), 'terminated');
    assert.equal(failureStatus({ rank: 0, host: 'h', kind: 'exit', exitCode: 143 }), 'failed');
    assert.equal(describeFailure({ rank: -1, host: 'h', kind: 'exit', exitCode: 2, reason: 'srun' }), 'srun exited with code 2');
  });
});

describe('coordinator', function () {
  this.timeout(30_000);

  it('welcomes ranks once all joined, runs barriers and the key-value store, and forwards batches', async () => {
    const job = await startJob(2);
    try {
      const [a, b] = [client(job, 0), client(job, 1)];
      const [wa, wb] = await Promise.all([a.join(), b.join()]);
      assert.deepEqual(wa.peers.map((p) => [p.rank, p.host]), [[0, 'host0'], [1, 'host1']]);
      assert.equal(wb.runId, 'test-run');
      const waiting = b.request({ t: 'kvwait', key: 'nccl-id', timeoutMs: 5000 });
      assert.equal(await a.request({ t: 'kvget', key: 'nccl-id' }), null);
      await a.request({ t: 'kvset', key: 'nccl-id', value: 'abc' });
      assert.equal(await waiting, 'abc');
      assert.equal(await b.request({ t: 'kvget', key: 'nccl-id' }), 'abc');
      let passed = false;
      const barrierA = a.request({ t: 'barrier', name: 'x#0', timeoutMs: 0 }).then(() => (passed = true));
      await new Promise((r) => setTimeout(r, 100));
      assert.equal(passed, false, 'a barrier does not pass with one rank');
      await b.request({ t: 'barrier', name: 'x#0', timeoutMs: 0 });
      await barrierA;
      await a.notify({ t: 'batch', items: [{ k: 'log', time: 1, message: 'hi' }, { k: 'stream', time: 2, stream: 'power', record: { w: 1 } }] });
      await a.request({ t: 'finish', status: 0 });
      await b.request({ t: 'finish', status: 0 });
      await job.coordinator.allFinished();
      assert.deepEqual(job.sink.items.map((i) => [i.rank, i.item.k]), [[0, 'log'], [0, 'stream']]);
    } finally {
      await stop(job);
    }
  });

  it('fails a barrier after its timeout, naming the missing ranks, and a kv.wait after its own', async () => {
    const job = await startJob(3);
    try {
      const clients = [0, 1, 2].map((r) => client(job, r));
      await Promise.all(clients.map((c) => c.join()));
      const late = clients[0].request({ t: 'barrier', name: 'b#0', timeoutMs: 300 });
      const alsoLate = clients[1].request({ t: 'barrier', name: 'b#0', timeoutMs: 300 });
      await assert.rejects(late, (error: unknown) => isJouleError(error, 'JOULE_TIMEOUT') && /barrier "b#0" timed out .* missing rank\(s\): 2 \(host host2/.test(error.message));
      await assert.rejects(alsoLate, (error: unknown) => isJouleError(error, 'JOULE_TIMEOUT') && (error.details.missingRanks as number[]).join() === '2');
      await assert.rejects(clients[2].request({ t: 'kvwait', key: 'never', timeoutMs: 200 }), (error: unknown) => isJouleError(error, 'JOULE_TIMEOUT') && /kv.wait\("never"\)/.test(error.message));
    } finally {
      await stop(job);
    }
  });

  it('refuses a join with the wrong secret, a wrong size or a taken rank, and logs each', async () => {
    const job = await startJob(2);
    try {
      await assert.rejects(client(job, 0, newJobSecret()).join(), (error: unknown) => isJouleError(error) && /refused the join: wrong job secret/.test(error.message));
      const first = client(job, 1);
      const firstJoin = first.join();
      await new Promise((r) => setTimeout(r, 100));
      await assert.rejects(client(job, 1).join(), /rank 1 has already joined/);
      assert.equal(job.sink.events.filter((e) => e.type === 'join-refused').length, 2);
      assert.ok(job.sink.warnings.some((w) => /refused a join claiming rank 0 from host host0 pid \d+: wrong job secret/.test(w)));
      await client(job, 0).join();
      await firstJoin;
    } finally {
      await stop(job);
    }
  });

  it('aborts every other rank when one exits badly, with the failure in the error', async () => {
    const job = await startJob(3);
    try {
      const clients = [0, 1, 2].map((r) => client(job, r));
      await Promise.all(clients.map((c) => c.join()));
      await clients[1].notify({ t: 'activity', activity: 'step 5' });
      await new Promise((r) => setTimeout(r, 50));
      const aborted = new Promise<unknown>((resolve) => clients[2].onAbort((error) => resolve(error)));
      const pending = clients[0].request({ t: 'barrier', name: 'end#0', timeoutMs: 0 });
      job.coordinator.rankExited(1, 7, null);
      await assert.rejects(pending, (error: unknown) => isJouleError(error, 'JOULE_RANK_FAILED') && error.details.failedRank === 1 && /rank 1 on host host1 .*exited with code 7; last activity: "step 5"/.test(error.message));
      const error = await aborted;
      assert.ok(isJouleError(error, 'JOULE_RANK_FAILED'));
      assert.equal(job.coordinator.failure?.exitCode, 7);
      await assert.rejects(clients[0].request({ t: 'kvget', key: 'x' }), /aborted/);
    } finally {
      await stop(job);
    }
  });

  it('declares a rank dead after the missed heartbeats', async () => {
    const job = await startJob(2);
    try {
      const [a, b] = [client(job, 0), client(job, 1)];
      await Promise.all([a.join(), b.join()]);
      const failed = new Promise<FailureInfo>((resolve) => job.coordinator.onFailure((f) => resolve(f)));
      await b.close(); // b's heartbeats stop
      const failure = await failed;
      assert.equal(failure.kind, 'heartbeat');
      assert.equal(failure.rank, 1);
      assert.match(describeFailure(failure), /rank 1 on host host1 .*stopped answering heartbeats .*limit 3 x 0.2 s/);
    } finally {
      await stop(job);
    }
  });

  it('with CURVE, admits clients that know the secret and never hears from one using another key', async () => {
    const job = await startJob(1, { secure: true });
    try {
      const welcome = await client(job, 0, job.secret, true).join();
      assert.equal(welcome.peers.length, 1);
      const wrongKey = new CoordClient({
        endpoint: job.coordinator.endpoint,
        secret: newJobSecret(),
        secure: true,
        rank: 0,
        size: 1,
        host: 'intruder',
        caps: {},
        heartbeatMs: 200,
        heartbeatMisses: 3,
        joinTimeoutMs: 1000,
        warn: () => undefined,
      });
      job.clients.push(wrongKey);
      await assert.rejects(wrongKey.join(), (error: unknown) => isJouleError(error, 'JOULE_TIMEOUT') && /never answered/.test(error.message));
      assert.equal(job.sink.events.filter((e) => e.type === 'join-refused').length, 0, 'the handshake failed before any join was read');
    } finally {
      await stop(job);
    }
  });
});
