import assert from 'node:assert/strict';
import { correctedArcCurve, regimeBoundaries } from '../../src/estimate/fluss';
import { matrixProfile } from '../../src/estimate/matrix-profile';
import { findRegimeChange, stabilizingPoint } from '../../src/estimate/stabilizing-point';
import { random, scriptedPower, traceOf } from './synthetic';

/** The matrix profile by its definition: every pair, O(n²·m). */
function bruteForce(t: number[], m: number, normalize: boolean, zone: number): { d: number[]; i: number[] } {
  const sub = (k: number) => t.slice(k, k + m);
  const z = (x: number[]) => {
    const mean = x.reduce((a, b) => a + b, 0) / m;
    const std = Math.sqrt(x.reduce((a, b) => a + (b - mean) ** 2, 0) / m);
    return x.map((v) => (v - mean) / std);
  };
  const count = t.length - m + 1;
  const d: number[] = [];
  const idx: number[] = [];
  for (let a = 0; a < count; a++) {
    let best = Infinity;
    let at = -1;
    for (let b = 0; b < count; b++) {
      if (Math.abs(a - b) <= zone) continue;
      const x = normalize ? z(sub(a)) : sub(a);
      const y = normalize ? z(sub(b)) : sub(b);
      const dist = Math.sqrt(x.reduce((s, v, k) => s + (v - y[k]) ** 2, 0));
      if (dist < best) [best, at] = [dist, b];
    }
    d.push(best);
    idx.push(at);
  }
  return { d, i: idx };
}

describe('stabilizing point: matrix profile and FLUSS', () => {
  for (const normalize of [true, false]) {
    it(`matrix profile (${normalize ? 'z-normalized' : 'Euclidean'}) equals the brute-force definition`, () => {
      const rnd = random(11);
      const t = Array.from({ length: 300 }, (_, i) => 200 + 50 * Math.sin(i / 5) + 20 * rnd());
      const fast = matrixProfile(t, 10, { normalize });
      const slow = bruteForce(t, 10, normalize, Math.ceil(10 / 4));
      fast.distances.forEach((d, k) => assert.ok(Math.abs(d - slow.d[k]) < 1e-6, `distance ${k}: ${d} vs ${slow.d[k]}`));
      // Ties aside, the neighbour is the same one.
      const same = Array.from(fast.indices).filter((j, k) => j === slow.i[k]).length;
      assert.ok(same >= fast.indices.length - 2, `${same} of ${fast.indices.length} neighbours agree`);
    });
  }

  it('FLUSS: few arcs cross the boundary between two patterns', () => {
    const rnd = random(5);
    const t = Array.from({ length: 600 }, (_, i) => (i < 350 ? Math.sin(i / 3) : Math.sign(Math.sin(i / 4))) + 0.05 * rnd());
    const cac = correctedArcCurve(matrixProfile(t, 10).indices, 10);
    const [boundary] = regimeBoundaries(cac, 2, 50);
    assert.ok(Math.abs(boundary.index - 350) <= 10, `boundary at ${boundary.index}`);
    assert.ok(boundary.cac < 0.2);
    assert.equal(cac[0], 1);
    assert.equal(cac[cac.length - 1], 1);
  });

  it('warm-up then steady: the boundary falls in the warm-up, and s is the epoch it falls in', () => {
    for (const seed of [1, 2, 3]) {
      const power = scriptedPower({ seconds: 1801, warmupS: 240, seed });
      const p = stabilizingPoint(traceOf(power, 60));
      assert.equal(p.how, 'detected');
      const boundaryS = p.detection!.boundaryS!;
      // A ramp is a regime of its own (each window's neighbour is the next one), so FLUSS may cut anywhere in it.
      assert.ok(boundaryS >= 30 && boundaryS <= 250, `seed ${seed}: boundary ${boundaryS}`);
      assert.equal(p.index, Math.floor(boundaryS / 60));
      assert.equal(p.epoch, p.index + 1);
    }
  });

  it('steady from the start: one regime, s = 0', () => {
    for (const seed of [1, 2, 3]) {
      const p = stabilizingPoint(traceOf(scriptedPower({ seconds: 1801, seed }), 60));
      assert.equal(p.index, 0, `seed ${seed}: ${p.reason}`);
      assert.equal(p.detection!.boundaryS, null);
      assert.match(p.reason, /one regime/);
    }
  });

  it('a late regime change is found where it happens', () => {
    const power = scriptedPower({ seconds: 1801, changeS: 1400, seed: 4 });
    const p = stabilizingPoint(traceOf(power, 60));
    assert.ok(Math.abs(p.detection!.boundaryS! - 1400) <= 15, `boundary ${p.detection!.boundaryS}`);
    // The epoch the change falls in.
    assert.equal(p.index, Math.floor(p.detection!.boundaryS! / 60));
  });

  it('a warm-up at a flat lower level is found by the plain Euclidean profile', () => {
    const power = scriptedPower({ seconds: 1201, warmupS: 150, warmupShape: 'level', seed: 6 });
    const euclidean = findRegimeChange(power, { normalize: false });
    assert.ok(euclidean && Math.abs(euclidean.index - 150) <= 10, JSON.stringify(euclidean));
  });

  it('fixed s is used as given and says so; too short a trace is not guessed at', () => {
    const trace = traceOf(scriptedPower({ seconds: 601, seed: 1 }), 60);
    assert.deepEqual(
      { index: stabilizingPoint(trace, { fixedIndex: 4 }).index, how: stabilizingPoint(trace, { fixedIndex: 4 }).how },
      { index: 4, how: 'fixed' },
    );
    const short = stabilizingPoint(traceOf(scriptedPower({ seconds: 61, seed: 1 }), 20));
    assert.equal(short.how, 'none');
    assert.match(short.reason, /too few/);
  });
});
