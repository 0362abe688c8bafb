// `joule bench cast`: rows for each direction and size, beside memcpy and the JS loop, checked results.
import assert from 'node:assert/strict';
import { native } from '../../src/native';
import { joule } from '../helpers/run';
import { skipBecause } from '../helpers/skip';

describe('joule bench cast', function () {
  this.timeout(120_000);

  it('prints JSON rows with cast, memcpy and JavaScript rates, their ratios and #wrong = 0', async () => {
    const result = await joule(['bench', 'cast', '--sizes', '4KiB,96KiB', '--direction', 'f32-bf16', 'f16-f32', 'f64-f32', '--seconds', '0.005', '--json']);
    assert.equal(result.code, 0, result.stderr);
    const report = JSON.parse(result.stdout);
    assert.equal(report.benchmark, 'cast');
    assert.equal(report.loadAverage.length, 3);
    assert.deepEqual(
      report.rows.map((r: { direction: string; bytes: number }) => `${r.direction}@${r.bytes}`),
      ['f32-bf16@4096', 'f32-bf16@98304', 'f16-f32@4096', 'f16-f32@98304', 'f64-f32@4096', 'f64-f32@98304'],
    );
    for (const row of report.rows) {
      assert.equal(row.wrong, 0);
      const outBytes = row.direction.endsWith('f32') ? 4 : 2;
      assert.equal(row.bytesMoved, row.bytes + row.elements * outBytes);
      for (const rate of [row.castGBps, row.memcpyGBps, row.jsGBps]) assert.ok(rate > 0 && Number.isFinite(rate));
      assert.ok(Math.abs(row.memcpyFraction - row.castGBps / row.memcpyGBps) < 1e-12);
      assert.ok(Math.abs(row.jsSpeedup - row.castGBps / row.jsGBps) < 1e-12);
      assert.ok(Math.abs(row.jsCeiling - row.memcpyGBps / row.jsGBps) < 1e-12);
    }
    assert.match(result.stderr, /f64-f32 96 KiB: [\d.]+ GB\/s/, 'progress goes to stderr');
  });

  it('prints a table with the load and a forced path and thread count', async () => {
    const result = await joule(['bench', 'cast', '--sizes', '8KiB', '--direction', 'f32-f16', '--path', 'scalar', '--threads', '2', '--no-js', '--seconds', '0.005']);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /\(cast\): path scalar, threads 2, .*load [\d.]+ [\d.]+ [\d.]+ before/);
    assert.match(result.stdout, /f32-f16\s+8 KiB\s+2048\s+[\d.]+\s+[\d.]+\s+\d+ %\s+-\s+-\s+-\s+0/);
    assert.match(result.stdout, /memcpy\/JS = the most any cast of these bytes could be over the JavaScript loop/);
  });

  it('times the fused cast + statistics with --stats and still checks the cast', async () => {
    const result = await joule(['bench', 'cast', '--sizes', '64KiB', '--direction', 'f32-bf16', '--stats', '--no-js', '--seconds', '0.005', '--json']);
    assert.equal(result.code, 0, result.stderr);
    const report = JSON.parse(result.stdout);
    assert.equal(report.kernel, 'cast + statistics');
    assert.equal(report.rows[0].wrong, 0);
    assert.equal(report.rows[0].jsGBps, null);
  });

  it('--device cuda refuses with JOULE_BACKEND_UNAVAILABLE and the reason when no GPU can run the kernels', async function () {
    const caps = await native().capabilities();
    if (caps.cuda.usable) skipBecause(this, 'a CUDA GPU is usable here, so the command runs (test/precision/cuda-cast.test.ts checks the kernels)');
    const result = await joule(['bench', 'cast', '--device', 'cuda', '--sizes', '4KiB', '--direction', 'f32-bf16']);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /CUDA cast unavailable: .*\[JOULE_BACKEND_UNAVAILABLE\]/);
  });

  it('exits 2 with a clear message on bad input', async () => {
    const badSize = await joule(['bench', 'cast', '--sizes', '12XB']);
    assert.equal(badSize.code, 2);
    assert.match(badSize.stderr, /--sizes: cannot read "12XB" as a size/);
    const badPath = await joule(['bench', 'cast', '--path', 'neon9', '--sizes', '4KiB']);
    assert.equal(badPath.code, 2);
    assert.match(badPath.stderr, /unknown path "neon9"/);
    const cudaThreads = await joule(['bench', 'cast', '--device', 'cuda', '--threads', '2']);
    assert.equal(cudaThreads.code, 2);
    assert.match(cudaThreads.stderr, /apply to --device cpu only/);
    const noBenchmark = await joule(['bench']);
    assert.equal(noBenchmark.code, 2);
    assert.match(noBenchmark.stderr, /Name a command; `joule bench --help` lists them/);
  });
});
