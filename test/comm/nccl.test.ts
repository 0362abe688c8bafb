// The nccl backend without a GPU: the real dlopen path into the fake libnccl.so.2, staging through the
// fake CUDA module (host memory), the fake's record of every call, and its injected errors.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fakeNccl, fakesDir } from '../helpers/run';
import { launchRanks } from './launch-ranks';

const fixture = path.join(__dirname, 'fixtures', 'nccl.ts');
const fakeCuda = path.join(fakesDir, 'libjoule_cuda.so');

interface Call {
  call: string;
  [field: string]: string;
}

function parseRecord(file: string): Call[] {
  return fs
    .readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .map((line) => Object.fromEntries(line.split(' ').map((kv) => kv.split('=') as [string, string])) as Call);
}

describe('comm: nccl backend (fake NCCL, fake CUDA module)', function () {
  this.timeout(60_000);
  let dir = '';
  let record = '';
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'joule-nccl-'));
    record = path.join(dir, 'record.txt');
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));
  const env = () => ({
    TEST_BACKEND: 'nccl',
    // Two GPUs on this pretend node: the launcher gives rank r GPU r.
    JOULE_GPU_COUNT: '2',
    JOULE_NCCL_LIBRARY: fakeNccl,
    JOULE_CUDA_LIBRARY: fakeCuda,
    JOULE_FAKE_CUDA_DEVICES: '2',
    JOULE_FAKE_NCCL_RECORD: record,
  });

  it('passes rank 0\'s unique id, counts, dtypes, ops, roots and one stream per rank, and stages data both ways', async () => {
    const results = await launchRanks(fixture, 2, env());
    const reports = results.map((r) => r.report as Record<string, unknown>);
    for (const report of reports) assert.equal(report.error, undefined, JSON.stringify(report.error));
    // Outputs follow the fake's single-process rules, so they prove the host->device->host staging.
    assert.deepEqual(reports[0].allreduce, [0, 999]);
    assert.deepEqual(reports[1].allreduce, [1, 1000]);
    assert.deepEqual(reports[1].broadcast, [1, 7]);
    assert.deepEqual(reports[1].allgather, [0x3f81, 0, 1, 0x3f81, 0, 1]);
    assert.deepEqual(reports[0].reduceScatter, [0, 10]);
    assert.deepEqual(reports[1].reduceScatter, [20, 30]);
    assert.deepEqual(reports.map((r) => r.backend), ['nccl', 'nccl']);
    for (const report of reports) {
      const refused = report.avgDivisor as { code: string; message: string };
      assert.equal(refused.code, 'JOULE_BAD_ARGUMENT');
      assert.match(refused.message, /avg with a divisor other than the communicator's size is not supported/);
    }

    const calls = parseRecord(record);
    const ids = calls.filter((c) => c.call === 'ncclGetUniqueId');
    assert.equal(ids.length, 1, 'only rank 0 makes an id');
    for (const rank of ['0', '1']) {
      const mine = calls.filter((c) => c.rank === rank);
      const init = mine.find((c) => c.call === 'ncclCommInitRank');
      assert.equal(init?.id, ids[0].id, `rank ${rank} joined with rank 0's id`);
      assert.equal(init?.nranks, '2');
      // Every operation is preceded by the 40-byte header allgather (uint8), then the call itself.
      const work = mine.filter((c) => !['ncclCommInitRank', 'ncclCommDestroy'].includes(c.call) && !(c.call === 'ncclAllGather' && c.count === '40'));
      const p2p = rank === '0' ? ['ncclSend', '4', '6', '-1', '1'] : ['ncclRecv', '4', '6', '-1', '0'];
      assert.deepEqual(
        work.map((c) => [c.call, c.count, c.dtype, c.op, c.root]),
        [
          ['ncclAllReduce', '1000', '7', '4', '-1'], // f32 (7), avg (4)
          ['ncclBroadcast', '2', '2', '-1', '1'], // i32 (2), root 1
          ['ncclAllGather', '3', '9', '-1', '-1'], // bf16 (9)
          ['ncclReduceScatter', '2', '8', '2', '-1'], // f64 (8), max (2)
          ['ncclReduce', '1', '4', '1', '0'], // i64 (4), prod (1), root 0
          p2p, // f16 (6) to/from the peer
        ],
      );
      const streams = new Set(mine.filter((c) => c.stream).map((c) => c.stream));
      assert.equal(streams.size, 1, 'one stream per communicator');
      assert.notEqual([...streams][0], '(nil)');
      // The connecting barrier and the six collectives carry headers; send/recv carry none on nccl.
      assert.equal(mine.filter((c) => c.call === 'ncclAllGather' && c.count === '40').length, 7);
      assert.equal(mine[mine.length - 1].call, 'ncclCommDestroy');
    }
  });

  it('surfaces a NCCL error return with NCCL\'s error string', async () => {
    const results = await launchRanks(fixture, 2, { ...env(), JOULE_FAKE_NCCL_ERROR: '6' });
    for (const r of results) {
      const error = (r.report as { error: { code: string; message: string } }).error;
      assert.equal(error.code, 'JOULE_NATIVE_ERROR');
      assert.match(error.message, /ncclAllGather failed: error 6: remote process exited or there was a network error/);
    }
  });

  it('polls ncclCommGetAsyncError while a collective runs: an async failure becomes an error, not a hang', async () => {
    const results = await launchRanks(fixture, 2, { ...env(), JOULE_FAKE_NCCL_ASYNC_ERROR: '3', JOULE_FAKE_CUDA_STREAM_HANG: '1' });
    for (const r of results) {
      const error = (r.report as { error: { code: string; message: string } }).error;
      assert.equal(error.code, 'JOULE_NATIVE_ERROR');
      assert.match(error.message, /ncclCommGetAsyncError failed: error 3: internal error/);
    }
    assert.equal(parseRecord(record).filter((c) => c.call === 'ncclCommAbort').length, 2);
  });

  it('times out a collective that never completes, aborting the NCCL communicator', async () => {
    const results = await launchRanks(fixture, 2, { ...env(), JOULE_FAKE_CUDA_STREAM_HANG: '1', TEST_TIMEOUT_S: '0.5' });
    for (const r of results) {
      const error = (r.report as { error: { code: string; message: string } }).error;
      assert.equal(error.code, 'JOULE_TIMEOUT');
      assert.match(error.message, /timed out after 0.5\d* s/);
    }
  });

  it('refuses an explicit nccl backend that cannot run, naming why', async () => {
    const missing = await launchRanks(fixture, 2, { ...env(), JOULE_NCCL_LIBRARY: path.join(dir, 'nowhere', 'libnccl.so.2') });
    for (const r of missing) {
      const error = (r.report as { error: { code: string; message: string } }).error;
      assert.equal(error.code, 'JOULE_BACKEND_UNAVAILABLE');
      assert.match(error.message, /backend nccl: NCCL is unusable: not found/);
    }
    const noGpu = await launchRanks(fixture, 2, { ...env(), JOULE_GPU_COUNT: '0' });
    for (const r of noGpu) {
      const error = (r.report as { error: { code: string; message: string } }).error;
      assert.equal(error.code, 'JOULE_BACKEND_UNAVAILABLE');
      assert.match(error.message, /backend nccl: no GPU is assigned to this rank/);
    }
  });

  it('auto picks nccl when the rank has a GPU and NCCL and the CUDA module load, and says so once', async () => {
    const results = await launchRanks(fixture, 2, { ...env(), TEST_BACKEND: 'auto' });
    assert.deepEqual(results.map((r) => (r.report as { backend: string }).backend), ['nccl', 'nccl']);
    assert.equal((results[0].stderr.match(/collectives use the nccl backend/g) ?? []).length, 1);
    assert.equal(results[1].stderr, '');
  });
});
