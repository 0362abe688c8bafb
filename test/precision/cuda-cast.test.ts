// The CUDA cast kernels: on a GPU, bit for bit the CPU's results; without one, a clear refusal.
import assert from 'node:assert/strict';
import { isJouleError } from '../../src/errors';
import { native } from '../../src/native';
import { cast, castStats } from '../../src/precision/cast';
import { cudaCast, cudaCastStats } from '../../src/precision/cuda-cast';
import { f32Bits } from './ieee-reference';
import { skipBecause } from '../helpers/skip';

describe('precision: CUDA cast', function () {
  this.timeout(120_000);
  let usable = false;
  let reason = '';

  before(async () => {
    const caps = await native().capabilities();
    usable = caps.cuda.usable;
    reason = caps.cuda.reason ?? '';
  });

  it('refuses with JOULE_BACKEND_UNAVAILABLE and the loader\'s reason when no GPU can run it', async function () {
    if (usable) skipBecause(this, 'a CUDA GPU is usable: the next test covers it');
    await assert.rejects(cudaCast(new Float32Array(4), { to: 'bf16' }), (error: unknown) => {
      assert.ok(isJouleError(error, 'JOULE_BACKEND_UNAVAILABLE'), String(error));
      assert.ok((error as Error).message.includes(reason), `${(error as Error).message} should carry "${reason}"`);
      return true;
    });
  });

  it('gives the CPU path\'s bits and counts in every direction (needs a CUDA GPU)', async function () {
    if (!usable) {
      // The kernels compile in CI; running them needs a GPU.
      skipBecause(this, reason || 'no CUDA GPU');
    }
    const count = 1_000_003;
    const bits = new Uint32Array(count);
    let state = 12345;
    for (let i = 0; i < count; ++i) {
      state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
      bits[i] = state;
    }
    [0x7f800001, 0xffc00001, 0x00000001, 0x807fffff, f32Bits(65520), f32Bits(-0)].forEach((b, k) => (bits[k] = b));
    const input = new Float32Array(bits.buffer);
    for (const to of ['bf16', 'f16', 'f64', 'f32'] as const) {
      for (const scale of [1, 1024]) {
        const cpu = cast(input, { to, scale });
        const gpu = await cudaCast(input, { to, scale });
        assert.deepEqual(new Uint8Array(gpu.buffer), new Uint8Array(cpu.buffer), `f32 -> ${to} x${scale}`);
        const gpuStats = await cudaCastStats(input, { to, scale });
        const cpuStats = castStats(input, { to, scale });
        assert.equal(gpuStats.nonFinite, cpuStats.nonFinite);
        assert.equal(gpuStats.overflow, cpuStats.overflow);
        assert.equal(gpuStats.underflow, cpuStats.underflow);
        assert.ok(Math.abs(gpuStats.relError - cpuStats.relError) <= 1e-9 * cpuStats.relError);
      }
    }
    for (const from of ['bf16', 'f16'] as const) {
      const halves = new Uint16Array(65536).map((_, i) => i);
      assert.deepEqual(await cudaCast(halves, { from, to: 'f32' }), cast(halves, { from, to: 'f32' }));
    }
    const doubles = Float64Array.from(input, (v, i) => v * (1 + i * 1e-12));
    assert.deepEqual(await cudaCast(doubles, { to: 'f32' }), cast(doubles, { to: 'f32' }));
  });
});
