// cast/castStats against the independent IEEE reference, on every CPU path and several thread counts.
import assert from 'node:assert/strict';
import { cast, castAsync, castPaths, castStats, castStatsAsync, type CastStats } from '../../src/precision/cast';
import { isJouleError } from '../../src/errors';
import {
  bitsF32,
  f32Bits,
  halfValue,
  refBf16ToF32Bits,
  refF16ToF32Bits,
  refF32ToBf16,
  refF32ToF16,
  refF32ToF64Words,
  refF64ToF32Bits,
} from './ieee-reference';
import { seededRandom } from '../helpers/random';
import { skipBecause } from '../helpers/skip';

const supported = castPaths().paths.filter((p) => p.supported).map((p) => p.name);
const threadCounts = [1, 2, 3];

/** The shared seeded generator's 32-bit words (exact: each value is an integer over 2^32), so failures reproduce. */
function random(seed: number): () => number {
  const next = seededRandom(seed);
  return () => next() * 2 ** 32;
}

/** f32 bit patterns of the edge classes, for both 16-bit targets. */
function edgeBits(): number[] {
  const values = [
    0, -0, 1, -1, Infinity, -Infinity, 3.4028234663852886e38, -3.4028234663852886e38,
    65504, -65504, 65519.99609375, 65520, -65520, 65536, 2 ** -14, 2 ** -24, 2 ** -25, 3 * 2 ** -25, 2 ** -25 + 2 ** -40,
    2 ** -26, 1.1754943508222875e-38, 1e-45, -1e-45, 2 ** -133, 2 ** -134, 1 + 2 ** -8, 1 + 3 * 2 ** -8, 1 + 2 ** -11, 1 + 3 * 2 ** -11,
  ];
  const bits = values.map(f32Bits);
  // NaN payloads: quiet and signalling, both signs, payload only in bits the targets drop.
  bits.push(0x7f800001, 0x7fbfffff, 0x7fc00000, 0xffc00001, 0xff800001, 0x7f802000, 0x7fffffff, 0xffffffff);
  // bf16 ties to even at each parity and at the top of the range; the largest finite just below a tie.
  bits.push(0x3f808000, 0x3f818000, 0x7f7f8000, 0x7f7e8000, 0x7f7f7fff, 0x00008000, 0x00018000, 0x807f8000);
  // f16 ties: normal (13 dropped bits = 0x1000) and subnormal ones.
  bits.push(0x3f801000, 0x3f803000, 0x477fe000, 0x477ff000, 0x477fefff, 0x33000001, 0x33c00000, 0x38000000);
  // Every f32 denormal region boundary (DAZ-prone inputs) and values around f16's smallest normal.
  bits.push(0x00000001, 0x007fffff, 0x80400000, 0x387fe000, 0x387ff000, 0x387fffff);
  return bits.map((b) => b >>> 0);
}

/** Random bits over every exponent (uniform bits cover all exponents alike), then the edges. */
function testFloats(count: number, seed: number): Float32Array {
  const next = random(seed);
  const bits = new Uint32Array(count);
  for (let i = 0; i < count; ++i) bits[i] = next();
  // Values near 1 and in f16's range are rare among uniform bits: give them a share too.
  for (let i = 0; i < count; i += 7) bits[i] = (0x30000000 + (next() % 0x18000000)) | (next() & 0x80000000);
  const edges = edgeBits();
  // Put the edge classes both in vector bodies and in the scalar tails.
  edges.forEach((b, k) => {
    bits[k] = b;
    bits[count - 1 - k] = b;
    bits[(count >>> 1) + k] = b;
  });
  return new Float32Array(bits.buffer);
}

function firstMismatch(actual: Uint16Array | Uint32Array, expected: Uint16Array | Uint32Array, input?: Uint32Array): string | null {
  for (let i = 0; i < expected.length; ++i) {
    if (actual[i] !== expected[i]) {
      const from = input ? ` input 0x${input[i].toString(16)}` : '';
      return `index ${i}:${from} got 0x${actual[i].toString(16)}, expected 0x${expected[i].toString(16)}`;
    }
  }
  return null;
}

describe('precision: cast', function () {
  this.timeout(120_000);

  it('compiles the scalar path and at least one path this CPU supports', () => {
    const paths = castPaths();
    assert.equal(paths.paths[0].name, 'scalar');
    assert.ok(paths.paths[0].supported);
    assert.ok(paths.default && supported.includes(paths.default));
  });

  // The loops below run every path this CPU supports; the others are named here, not passed over silently.
  for (const unsupported of castPaths().paths.filter((p) => !p.supported)) {
    it(`runs the ${unsupported.name} path`, function () {
      skipBecause(this, `this CPU lacks the instructions of the ${unsupported.name} path (CPUID)`);
    });
  }

  for (const format of ['bf16', 'f16'] as const) {
    it(`every ${format} pattern -> f32 -> ${format} is the identity (NaNs stay NaN), on every path`, () => {
      const all = new Uint16Array(65536).map((_, i) => i);
      const toF32 = format === 'bf16' ? refBf16ToF32Bits : refF16ToF32Bits;
      const expectedF32 = Uint32Array.from(all, toF32);
      for (const path of supported) {
        const wide = cast(all, { from: format, to: 'f32', path });
        const wideBits = new Uint32Array(wide.buffer);
        assert.equal(firstMismatch(wideBits, expectedF32), null, `${path}: ${format} -> f32`);
        const back = cast(wide, { to: format, path });
        for (let i = 0; i < 65536; ++i) {
          const nan = Number.isNaN(halfValue(i, format));
          if (nan) {
            assert.ok(Number.isNaN(halfValue(back[i], format)), `${path}: NaN 0x${i.toString(16)} came back as 0x${back[i].toString(16)}`);
            assert.equal(back[i] & 0x8000, i & 0x8000, `${path}: NaN 0x${i.toString(16)} lost its sign`);
          } else {
            assert.equal(back[i], i, `${path}: 0x${i.toString(16)} came back as 0x${back[i].toString(16)}`);
          }
        }
      }
    });
  }

  const input = testFloats(200_003, 0x5eed);
  const inputBits = new Uint32Array(input.buffer);
  const expectedBf16 = Uint16Array.from(inputBits, refF32ToBf16);
  const expectedF16 = Uint16Array.from(inputBits, refF32ToF16);

  for (const [format, expected] of [['bf16', expectedBf16], ['f16', expectedF16]] as const) {
    it(`random f32 and the edge classes -> ${format} match the reference bit for bit on every path and thread count`, () => {
      for (const path of supported) {
        for (const threads of threadCounts) {
          const out = cast(input, { to: format, path, threads });
          assert.equal(firstMismatch(out, expected, inputBits), null, `${path}, ${threads} thread(s)`);
        }
      }
    });
  }

  it('f32 <-> f64 match the reference on every path (NaN payloads, -0, subnormals)', () => {
    const expectedWords = new Uint32Array(input.length * 2);
    inputBits.forEach((b, i) => expectedWords.set(refF32ToF64Words(b), 2 * i));
    const doubles = new Float64Array(expectedWords.buffer);
    // f64 inputs that do not fit f32 exactly: halfway cases, overflow, f32 subnormal range, NaN payloads.
    const extra = new Float64Array(input.length);
    const next = random(99);
    for (let i = 0; i < extra.length; ++i) extra[i] = doubles[i] * (1 + (next() / 2 ** 32) * 2 ** -20);
    const extraWords = new Uint32Array(extra.buffer);
    [1 + 2 ** -24, 1 + 3 * 2 ** -24, 3.4028235677973366e38, 1e39, 2 ** -150, 2 ** -149 * 1.5, -0].forEach((v, k) => (extra[k] = v));
    extraWords[20] = 0x00000001; // NaN with payload only in the low word: bits dropped by f32
    extraWords[21] = 0xfff00000;
    extraWords[22] = 0xffffffff;
    extraWords[23] = 0x7ff7ffff; // signalling NaN
    const expectedF32 = Uint32Array.from(extra, (v, i) => refF64ToF32Bits(v, new DataView(extra.buffer), 8 * i));
    for (const path of supported) {
      for (const threads of [1, 2]) {
        const wide = cast(input, { to: 'f64', path, threads });
        assert.equal(firstMismatch(new Uint32Array(wide.buffer), expectedWords), null, `${path}: f32 -> f64`);
        const narrow = cast(extra, { to: 'f32', path, threads });
        assert.equal(firstMismatch(new Uint32Array(narrow.buffer), expectedF32), null, `${path}: f64 -> f32`);
      }
    }
  });

  it('scales before narrowing and after widening, identically on every path', () => {
    for (const scale of [65536, 2 ** -16, 3.5, -0.1]) {
      const fscale = Math.fround(scale);
      const scaled = Float32Array.from(input, (v) => v * fscale);
      const scaledBits = new Uint32Array(scaled.buffer);
      const wantBf16 = Uint16Array.from(scaledBits, refF32ToBf16);
      const wantF16 = Uint16Array.from(scaledBits, refF32ToF16);
      const halves = Uint16Array.from(inputBits, refF32ToF16);
      // A NaN passes a scaled cast quieted with its payload (x86's multiply; CUDA's is made to match).
      const scaleBits = (bits: number) => (Number.isNaN(bitsF32(bits)) ? (bits | 0x400000) >>> 0 : f32Bits(bitsF32(bits) * fscale));
      const wantWide = Uint32Array.from(halves, (h) => scaleBits(refF16ToF32Bits(h)));
      const wantCopy = Uint32Array.from(inputBits, scaleBits);
      for (const path of supported) {
        assert.equal(firstMismatch(cast(input, { to: 'bf16', scale, path }), wantBf16, inputBits), null, `${path} bf16 x${scale}`);
        assert.equal(firstMismatch(cast(input, { to: 'f16', scale, path, threads: 2 }), wantF16, inputBits), null, `${path} f16 x${scale}`);
        const wide = cast(halves, { from: 'f16', to: 'f32', scale, path });
        assert.equal(firstMismatch(new Uint32Array(wide.buffer), wantWide), null, `${path} f16 -> f32 x${scale}`);
        const copy = cast(input, { to: 'f32', scale, path, threads: 3 });
        assert.equal(firstMismatch(new Uint32Array(copy.buffer), wantCopy, inputBits), null, `${path} f32 x${scale}`);
      }
    }
  });

  it('a scale of 1 copies f32 bit for bit, NaN payloads included, and works in place', () => {
    const copy = cast(input, { to: 'f32' });
    assert.equal(firstMismatch(new Uint32Array(copy.buffer), inputBits), null);
    const grads = Float32Array.from([1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32768, 65536]);
    cast(grads, { to: 'f32', scale: 2 ** -16, out: grads });
    assert.deepEqual(Array.from(grads), Array.from({ length: 17 }, (_, i) => 2 ** (i - 16)));
  });

  /** The test's own statistics of a narrowing cast, from the reference's results. */
  function ownStats(values: Float32Array, results: Uint16Array, format: 'bf16' | 'f16', scale: number): Omit<CastStats, 'count'> {
    let sumSquaredError = 0;
    let sumSquared = 0;
    let nonFinite = 0;
    let overflow = 0;
    let underflow = 0;
    for (let i = 0; i < values.length; ++i) {
      if (!Number.isFinite(values[i])) {
        nonFinite++;
        continue;
      }
      const c = halfValue(results[i], format);
      if (!Number.isFinite(c)) {
        overflow++;
        continue;
      }
      const r = values[i] * Math.fround(scale);
      if (c === 0 && r !== 0) underflow++;
      sumSquaredError += (r - c) ** 2;
      sumSquared += r * r;
    }
    return { relError: Math.sqrt(sumSquaredError / sumSquared), nonFinite, overflow, underflow, sumSquaredError, sumSquared };
  }

  it('castStats counts overflow, underflow and non-finite inputs and measures the relative error in the same pass', () => {
    // Values a training step would see: mostly moderate, some tiny (underflow in f16), some huge.
    const next = random(7);
    const values = new Float32Array(100_001);
    for (let i = 0; i < values.length; ++i) {
      const exponent = (next() % 60) - 40;
      values[i] = (next() / 2 ** 32 - 0.5) * 2 ** exponent;
    }
    values[10] = NaN;
    values[11] = -Infinity;
    values[12] = 1e6;
    values[13] = 1e-9;
    for (const format of ['bf16', 'f16'] as const) {
      for (const scale of [1, 1024]) {
        const fscale = Math.fround(scale);
        const scaledBits = new Uint32Array(Float32Array.from(values, (v) => v * fscale).buffer);
        const results = Uint16Array.from(scaledBits, format === 'bf16' ? refF32ToBf16 : refF32ToF16);
        const want = ownStats(values, results, format, scale);
        assert.ok(want.nonFinite === 2 && (format === 'bf16' || (want.overflow > 0 && want.underflow > 0)), 'the data exercise every counter');
        let first: CastStats | undefined;
        for (const path of supported) {
          let firstOfPath: CastStats | undefined;
          for (const threads of threadCounts) {
            const out = new Uint16Array(values.length);
            const stats = castStats(values, { to: format, scale, path, threads, out });
            assert.equal(firstMismatch(out, results), null, `${path}: castStats wrote the cast`);
            assert.equal(stats.count, values.length);
            assert.equal(stats.nonFinite, want.nonFinite);
            assert.equal(stats.overflow, want.overflow);
            assert.equal(stats.underflow, want.underflow);
            assert.ok(Math.abs(stats.relError - want.relError) <= 1e-9 * want.relError, `${format} x${scale} ${path}: ${stats.relError} vs ${want.relError}`);
            // The partial sums combine in a fixed order: the same figures whatever the split; a path
            // with vector statistics adds in another (fixed) association, so only the last bits may move.
            firstOfPath ??= stats;
            assert.deepEqual(stats, firstOfPath, `${path}, ${threads} thread(s)`);
            first ??= stats;
            assert.deepEqual({ ...stats, relError: 0, sumSquared: 0, sumSquaredError: 0 }, { ...first, relError: 0, sumSquared: 0, sumSquaredError: 0 });
            for (const key of ['relError', 'sumSquared', 'sumSquaredError'] as const) {
              assert.ok(Math.abs(stats[key] - first[key]) <= 1e-12 * Math.abs(first[key]), `${path} ${key}: ${stats[key]} vs ${first[key]}`);
            }
          }
        }
      }
    }
  });

  it('castStats of widening casts (bf16/f16 -> f32, scaled) match the reference on every path', () => {
    // Every 16-bit pattern: NaNs, infinities, subnormals; scaled widening rounds (and can overflow) in f32.
    const halves = Uint16Array.from({ length: 65536 }, (_, i) => i);
    for (const format of ['bf16', 'f16'] as const) {
      for (const scale of [1, 2 ** 120, 0.1]) {
        const fscale = Math.fround(scale);
        let sumSquaredError = 0;
        let sumSquared = 0;
        let nonFinite = 0;
        let overflow = 0;
        let underflow = 0;
        for (const h of halves) {
          const x = halfValue(h, format);
          if (!Number.isFinite(x)) {
            nonFinite++;
            continue;
          }
          const r = x * fscale;
          const c = Math.fround(r);
          if (!Number.isFinite(c)) {
            overflow++;
            continue;
          }
          if (c === 0 && r !== 0) underflow++;
          sumSquaredError += (r - c) ** 2;
          sumSquared += r * r;
        }
        for (const path of supported) {
          const stats = castStats(halves, { from: format, to: 'f32', scale, path });
          const what = `${format} -> f32 x${scale} ${path}`;
          assert.deepEqual([stats.count, stats.nonFinite, stats.overflow, stats.underflow], [65536, nonFinite, overflow, underflow], what);
          assert.ok(Math.abs(stats.sumSquared - sumSquared) <= 1e-9 * sumSquared, `${what}: sumSquared ${stats.sumSquared} vs ${sumSquared}`);
          assert.ok(Math.abs(stats.sumSquaredError - sumSquaredError) <= 1e-9 * sumSquaredError, `${what}: sumSquaredError ${stats.sumSquaredError} vs ${sumSquaredError}`);
        }
        if (scale === 1) assert.equal(sumSquaredError, 0, 'widening alone is exact');
        if (scale === 2 ** 120) assert.ok(overflow > 0, 'the data overflow f32 when scaled by 2^120');
        if (scale === 0.1) assert.ok(sumSquaredError > 0, 'scaling by 0.1 (24 significant bits) rounds');
      }
    }
  });

  it('castStats without `out` writes nothing and finds non-finite gradients when unscaling', () => {
    const grads = new Float32Array(5000).fill(0.5);
    grads[4321] = NaN;
    const before = Float32Array.from(grads);
    const stats = castStats(grads, { to: 'f32', scale: 0.25 });
    assert.equal(stats.nonFinite, 1);
    assert.equal(stats.relError, 0);
    assert.deepEqual(grads, before);
  });

  it('castAsync and castStatsAsync give what the synchronous calls give', async () => {
    const bits = await castAsync(input, { to: 'bf16', threads: 2 });
    assert.equal(firstMismatch(bits, expectedBf16), null);
    const stats = await castStatsAsync(input, { to: 'f16' });
    assert.deepEqual(stats, castStats(input, { to: 'f16' }));
    const back = await castAsync(bits, { from: 'bf16', to: 'f32' });
    assert.equal(back.length, input.length);
  });

  it('rejects bad arguments with JOULE_BAD_ARGUMENT', () => {
    const f32 = new Float32Array(8);
    const bad = (fn: () => unknown, pattern: RegExp) =>
      assert.throws(fn, (error: unknown) => isJouleError(error, 'JOULE_BAD_ARGUMENT') && pattern.test((error as Error).message));
    bad(() => cast(f32, { to: 'fp8' as never }), /unknown target dtype "fp8"/);
    bad(() => cast([1, 2] as never, { to: 'bf16' }), /must be a Float32Array.*not Array/);
    bad(() => cast(new Int32Array(4) as never, { to: 'bf16' }), /not Int32Array/);
    bad(() => cast(new Uint16Array(4), { to: 'f32' }), /needs `from/);
    bad(() => cast(new Uint16Array(4), { from: 'e4m3' as never, to: 'f32' }), /unknown source dtype/);
    bad(() => cast(new Uint16Array(4), { from: 'bf16', to: 'f16' }), /converts to 'f32' only/);
    bad(() => cast(f32, { to: 'bf16', out: new Uint16Array(7) }), /out has 7 elements, the input 8/);
    bad(() => cast(f32, { to: 'bf16', out: new Float32Array(8) }), /out must be a Uint16Array/);
    bad(() => cast(f32, { to: 'bf16', scale: NaN }), /scale must be/);
    bad(() => cast(f32, { to: 'bf16', scale: 0 }), /scale must be/);
    bad(() => cast(f32, { to: 'bf16', path: 'neon9' }), /unknown path "neon9"/);
    bad(() => cast(f32, { to: 'bf16', threads: 1.5 }), /threads/);
    const shared = new ArrayBuffer(64);
    bad(() => cast(new Float32Array(shared, 0, 8), { to: 'bf16', out: new Uint16Array(shared, 16, 8) }), /overlaps/);
    bad(() => castStats(f32, { to: 'f16', from: 'f16' }), /`from` applies only/);
  });
});
