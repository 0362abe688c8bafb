// AdaptivePolicy: its moves down the ladder on measured savings, back up on violations, history, checkpoints.
import assert from 'node:assert/strict';
import { isJouleError } from '../../src/errors';
import type { CastStats } from '../../src/precision/cast';
import { AdaptivePolicy, type AdaptivePolicyOptions } from '../../src/precision/adaptive-policy';
import { precisionLadder } from '../../src/precision/ladder';
import type { PrecisionDecision, PrecisionObservation } from '../../src/precision/policy';

/** Wire statistics of `count` values cast with relative error `relError` (Σr² normalised to 1). */
function stats(relError: number, extra: Partial<CastStats> = {}): CastStats {
  return { relError, underflow: 0, overflow: 0, nonFinite: 0, sumSquaredError: relError * relError, sumSquared: 1, count: 10_000, ...extra };
}

/** A plausible step at `decision`: energy from a table per rung, bf16-like or f16-like wire error. */
type Scene = (step: number, decision: PrecisionDecision) => Partial<PrecisionObservation>;

function observation(step: number, decision: PrecisionDecision, energyJ: Record<string, number>, scene?: Scene): PrecisionObservation {
  const label = `${decision.compute}/${decision.wire}`;
  const relError = { f32: 0, bf16: 2.1e-3, f16: 3e-4 }[decision.wire];
  return { step, durationS: 0.5, energyJ: energyJ[label], energySource: 'nvml', wireStats: stats(relError), skipped: false, loss: 1, ...scene?.(step, decision) };
}

/** Runs steps [from, to) on `policy` and returns each step's rung label. */
function drive(policy: AdaptivePolicy, from: number, to: number, energyJ: Record<string, number>, scene?: Scene): string[] {
  const labels: string[] = [];
  for (let step = from; step < to; ++step) {
    const decision = policy.decide(step);
    labels.push(`${decision.compute}/${decision.wire}`);
    policy.observe(observation(step, decision, energyJ, scene));
  }
  return labels;
}

/** The first step of each run of equal labels: { step: label }. */
function switches(labels: string[], from = 0): Record<number, string> {
  const out: Record<number, string> = {};
  labels.forEach((label, i) => {
    if (i === 0 || labels[i - 1] !== label) out[from + i] = label;
  });
  return out;
}

const falling = { 'f32/f32': 40, 'f32/bf16': 35, 'bf16/bf16': 30, 'f16/f16': 29.5 };

function badArgument(pattern: RegExp) {
  return (e: unknown) => isJouleError(e, 'JOULE_BAD_ARGUMENT') && pattern.test((e as Error).message);
}

describe('precision: AdaptivePolicy', () => {
  it('has documented defaults: starts at f32/f32 and the ladder ends at f16/f16 with loss scaling', () => {
    const policy = new AdaptivePolicy();
    assert.equal(policy.kind, 'adaptive');
    assert.deepEqual(policy.decide(0), { compute: 'f32', wire: 'f32', lossScaling: false });
    assert.deepEqual(
      precisionLadder.map((r) => [r.label, r.lossScaling]),
      [['f32/f32', false], ['f32/bf16', false], ['bf16/bf16', false], ['f16/f16', true]],
    );
    const state = policy.state();
    assert.equal(state.options.windowSteps, 100);
    assert.equal(state.options.minSavingFraction, 0.05);
    assert.equal(state.options.allowModelEnergy, false);
  });

  it('walks down while energy per step drops enough, keeps the last saving rung, retries a rejected one later', () => {
    const policy = new AdaptivePolicy({ windowSteps: 10, warmupSteps: 0, retryAfterWindows: 3, lossScaling: { initScale: 1024 } });
    const labels = drive(policy, 0, 80, falling);
    // f16/f16 saves only 1.7 % over bf16/bf16: tried for one window, rejected, tried again 3 windows later.
    assert.deepEqual(switches(labels), { 0: 'f32/f32', 10: 'f32/bf16', 20: 'bf16/bf16', 30: 'f16/f16', 40: 'bf16/bf16', 70: 'f16/f16' });
    const history = policy.history();
    assert.deepEqual(
      history.map((h) => [h.step, h.event, h.from, h.to]),
      [
        [10, 'trial', 'f32/f32', 'f32/bf16'],
        [19, 'keep', 'f32/bf16', 'f32/bf16'],
        [20, 'trial', 'f32/bf16', 'bf16/bf16'],
        [29, 'keep', 'bf16/bf16', 'bf16/bf16'],
        [30, 'trial', 'bf16/bf16', 'f16/f16'],
        [40, 'reject', 'f16/f16', 'bf16/bf16'],
        [70, 'trial', 'bf16/bf16', 'f16/f16'],
      ],
    );
    assert.equal(history[1].reason, 'energy per step 40.0 J → 35.0 J (−12.5 %, nvml) with relError 2.1e-3 ≤ 1e-2, underflow 0 ≤ 1e-3, 0.0 % of steps skipped');
    assert.match(history[0].reason, /f32\/f32 measured 40\.0 J per step \(nvml, 10 steps\); trying f32\/bf16/);
    assert.match(history[5].reason, /30\.0 J → 29\.5 J \(−1\.7 %, nvml\): less than the 5\.0 % saving required; back to bf16\/bf16, f16\/f16 not tried again for 3 windows/);
    // The f16 rung carries the configured loss scaling; the others none.
    const atF16 = new AdaptivePolicy({ start: { compute: 'f16', wire: 'f16' }, lossScaling: { initScale: 1024 } });
    assert.deepEqual(atF16.decide(0), { compute: 'f16', wire: 'f16', lossScaling: { initScale: 1024 } });
  });

  it('stays when the saving is below minSavingFraction, and with retryAfterWindows 0 never tries again', () => {
    const policy = new AdaptivePolicy({ windowSteps: 10, warmupSteps: 0, retryAfterWindows: 0, floor: { compute: 'f32', wire: 'bf16' } });
    const labels = drive(policy, 0, 200, { 'f32/f32': 40, 'f32/bf16': 38.4 });
    assert.deepEqual(switches(labels), { 0: 'f32/f32', 10: 'f32/bf16', 20: 'f32/f32' });
    const reject = policy.history().at(-1);
    assert.equal(reject?.event, 'reject');
    assert.match(reject?.reason ?? '', /40\.0 J → 38\.4 J \(−4\.0 %, nvml\): less than the 5\.0 % saving required.*not to be tried again/);
    // The same drop with a 3 % threshold is kept.
    const lenient = new AdaptivePolicy({ windowSteps: 10, warmupSteps: 0, minSavingFraction: 0.03, floor: { compute: 'f32', wire: 'bf16' } });
    assert.deepEqual(switches(drive(lenient, 0, 200, { 'f32/f32': 40, 'f32/bf16': 38.4 })), { 0: 'f32/f32', 10: 'f32/bf16' });
  });

  it('does not move on model energy unless allowModelEnergy, and says so once in history', () => {
    const model: Scene = () => ({ energySource: 'model' });
    const strict = new AdaptivePolicy({ windowSteps: 10, warmupSteps: 0 });
    assert.deepEqual(switches(drive(strict, 0, 100, falling, model)), { 0: 'f32/f32' });
    const history = strict.history();
    assert.equal(history.length, 1, 'ten identical holds are written once');
    assert.equal(history[0].event, 'hold');
    assert.equal(history[0].reason, 'no evidence at f32/f32: the energy of 10 of 10 steps came from the model (allowModelEnergy is false); staying');
    const allowed = new AdaptivePolicy({ windowSteps: 10, warmupSteps: 0, allowModelEnergy: true });
    assert.deepEqual(switches(drive(allowed, 0, 30, falling, model)), { 0: 'f32/f32', 10: 'f32/bf16', 20: 'bf16/bf16' });
    assert.match(allowed.history()[1].reason, /\(−12\.5 %, model\)/);
  });

  it('needs every step of a window to carry energy from one source before comparing', () => {
    const missing: Scene = (step) => (step === 3 ? { energyJ: undefined, energySource: undefined } : {});
    const policy = new AdaptivePolicy({ windowSteps: 10, warmupSteps: 0 });
    // The first window is no evidence; the second one is, so the trial starts after it.
    assert.deepEqual(switches(drive(policy, 0, 30, falling, missing)), { 0: 'f32/f32', 20: 'f32/bf16' });
    assert.match(policy.history()[0].reason, /no evidence at f32\/f32: 1 of 10 steps had no energy figure/);
    const stuck = new AdaptivePolicy({ windowSteps: 10, warmupSteps: 0 });
    assert.deepEqual(switches(drive(stuck, 0, 30, { 'f32/f32': 0, 'f32/bf16': 0 })), { 0: 'f32/f32' });
    assert.match(stuck.history()[0].reason, /the energy counted 0 J over 10 steps/);
    // A trial measured by another source than its baseline cannot be kept.
    const rapl: Scene = (step) => (step >= 20 ? { energySource: 'rapl' } : {});
    const mixed = new AdaptivePolicy({ windowSteps: 10, warmupSteps: 0 });
    assert.deepEqual(switches(drive(mixed, 0, 40, falling, rapl)), { 0: 'f32/f32', 10: 'f32/bf16', 20: 'bf16/bf16', 30: 'f32/bf16' });
    assert.match(mixed.history().at(-1)?.reason ?? '', /energy at bf16\/bf16 came from rapl, at f32\/bf16 from nvml: not comparable/);
    // A trial whose wire error nobody measured is not kept either.
    const noStats: Scene = (_, d) => (d.wire === 'bf16' ? { wireStats: undefined } : {});
    const blind = new AdaptivePolicy({ windowSteps: 10, warmupSteps: 0 });
    assert.deepEqual(switches(drive(blind, 0, 30, falling, noStats)), { 0: 'f32/f32', 10: 'f32/bf16', 20: 'f32/f32' });
    assert.match(blind.history().at(-1)?.reason ?? '', /carried no wire statistics/);
  });

  it('leaves warm-up steps out of each window but still checks them for violations', () => {
    // The first three steps at each rung cost 100 J (re-cast weights, kernel choice) and f16's are skipped
    // while the scaler finds its scale: counted, they would sink every trial.
    const warm: Scene = (step, d) => {
      const since = ({ 'f32/f32': 0, 'f32/bf16': 13, 'bf16/bf16': 26, 'f16/f16': 39 } as Record<string, number>)[`${d.compute}/${d.wire}`];
      return step - since < 3 ? { energyJ: 100, skipped: d.compute === 'f16' } : {};
    };
    const energy = { 'f32/f32': 40, 'f32/bf16': 35, 'bf16/bf16': 30, 'f16/f16': 27 };
    const policy = new AdaptivePolicy({ windowSteps: 10, warmupSteps: 3, maxSkippedFraction: 0.1 });
    assert.deepEqual(switches(drive(policy, 0, 60, energy, warm)), { 0: 'f32/f32', 13: 'f32/bf16', 26: 'bf16/bf16', 39: 'f16/f16' });
    assert.deepEqual(policy.history().map((h) => h.event), ['trial', 'keep', 'trial', 'keep', 'trial', 'keep']);
    assert.match(policy.history()[1].reason, /40\.0 J → 35\.0 J/);
    // Without warm-up, the switch's one-time cost lands in the trial window: 54.5 J against 40 J.
    const unwarmed = new AdaptivePolicy({ windowSteps: 10, warmupSteps: 0 });
    assert.deepEqual(switches(drive(unwarmed, 0, 30, energy, (step) => (step >= 10 && step < 13 ? { energyJ: 100 } : {}))), { 0: 'f32/f32', 10: 'f32/bf16', 20: 'f32/f32' });
    // A NaN loss during warm-up still moves up.
    const nan = new AdaptivePolicy({ windowSteps: 10, warmupSteps: 3, start: { compute: 'bf16', wire: 'bf16' } });
    assert.deepEqual(switches(drive(nan, 0, 5, energy, (step) => (step === 1 ? { loss: NaN } : {}))), { 0: 'bf16/bf16', 2: 'f32/bf16' });
  });

  it('moves up at the next decide on a relError violation and bans that rung for retryAfterWindows', () => {
    const policy = new AdaptivePolicy({ windowSteps: 10, warmupSteps: 0, retryAfterWindows: 2, start: { compute: 'bf16', wire: 'bf16' }, floor: { compute: 'bf16', wire: 'bf16' } });
    const spike: Scene = (step) => (step === 5 ? { wireStats: stats(5e-2) } : {});
    const labels = drive(policy, 0, 40, falling, spike);
    // Back at f32/bf16 from step 6; windows 6–15 and 16–25 measure it; bf16/bf16 is tried again at 26.
    assert.deepEqual(switches(labels), { 0: 'bf16/bf16', 6: 'f32/bf16', 26: 'bf16/bf16' });
    const up = policy.history()[0];
    assert.deepEqual([up.step, up.event, up.from, up.to], [6, 'up', 'bf16/bf16', 'f32/bf16']);
    assert.equal(up.reason, 'wire relError 5e-2 > 1e-2 at step 5; back to f32/bf16, bf16/bf16 not tried again for 2 windows');
  });

  it('moves up on too many skipped steps, wire underflow, unskipped overflow and a non-finite loss', () => {
    const start = { compute: 'f16', wire: 'f16' } as const;
    const skips = new AdaptivePolicy({ windowSteps: 10, warmupSteps: 0, maxSkippedFraction: 0.2, start });
    // Two skips in a window of ten are within 20 %; the third is not.
    const skipped = drive(skips, 0, 6, falling, (step) => ({ skipped: step === 1 || step === 2 || step === 4 }));
    assert.deepEqual(switches(skipped), { 0: 'f16/f16', 5: 'bf16/bf16' });
    assert.match(skips.history()[0].reason, /^3 of the window's 10 steps were skipped by step 4 \(more than 20\.0 %\)/);

    const under = new AdaptivePolicy({ windowSteps: 10, warmupSteps: 0, start });
    assert.deepEqual(switches(drive(under, 0, 4, falling, (step) => (step === 2 ? { wireStats: stats(3e-4, { underflow: 50 }) } : {}))), { 0: 'f16/f16', 3: 'bf16/bf16' });
    assert.match(under.history()[0].reason, /50 of 10000 wire values underflowed to zero at step 2 \(5e-3 > 1e-3\)/);

    const over = new AdaptivePolicy({ windowSteps: 10, warmupSteps: 0, start });
    const overflow: Scene = (step) => (step === 1 ? { wireStats: stats(3e-4, { overflow: 2 }), skipped: true } : step === 2 ? { wireStats: stats(3e-4, { overflow: 1 }) } : {});
    assert.deepEqual(switches(drive(over, 0, 4, falling, overflow)), { 0: 'f16/f16', 3: 'bf16/bf16' }, 'a skipped overflow is the scaler doing its job');
    assert.match(over.history()[0].reason, /1 wire values overflowed to ±Inf at step 2, which was not skipped/);

    const nan = new AdaptivePolicy({ windowSteps: 10, warmupSteps: 0, start: { compute: 'bf16', wire: 'bf16' } });
    assert.deepEqual(switches(drive(nan, 0, 8, falling, (step) => (step === 4 ? { loss: NaN } : {}))), { 0: 'bf16/bf16', 5: 'f32/bf16' });
    assert.match(nan.history()[0].reason, /^the loss was NaN at step 4; back to f32\/bf16/);

    // At the top rung there is nothing to move to: one hold entry, no move.
    const top = new AdaptivePolicy({ windowSteps: 10, warmupSteps: 0, floor: { compute: 'f32', wire: 'f32' } });
    assert.deepEqual(switches(drive(top, 0, 30, falling, (step) => (step % 7 === 3 ? { loss: Infinity } : {}))), { 0: 'f32/f32' });
    assert.deepEqual(top.history().map((h) => h.event), ['hold']);
    assert.match(top.history()[0].reason, /the loss was Infinity at step 3; f32\/f32 is the top rung/);
  });

  it('state() and load() resume mid-window exactly: every cut point gives the uninterrupted decisions', () => {
    const options: AdaptivePolicyOptions = { windowSteps: 7, warmupSteps: 2, retryAfterWindows: 2, maxSkippedFraction: 0.3 };
    const energy = { 'f32/f32': 40, 'f32/bf16': 35, 'bf16/bf16': 30, 'f16/f16': 27 };
    // Skips and a relError spike make the path go down, up and down again.
    const scene: Scene = (step, d) => ({ skipped: d.compute === 'f16' && step % 3 === 0, wireStats: stats(step === 33 ? 0.2 : 2e-3) });
    const reference = new AdaptivePolicy(options);
    const expected = drive(reference, 0, 90, energy, scene);
    assert.ok(new Set(expected).size >= 3, `the path should visit several rungs: ${JSON.stringify(switches(expected))}`);
    let midWindow = 0;
    for (let cut = 1; cut < 90; cut += 4) {
      const first = new AdaptivePolicy(options);
      const before = drive(first, 0, cut, energy, scene);
      const saved = JSON.parse(JSON.stringify(first.state()));
      if (saved.window.steps > 0) midWindow++;
      const resumed = new AdaptivePolicy(options);
      resumed.load(saved);
      const after = drive(resumed, cut, 90, energy, scene);
      assert.deepEqual([...before, ...after], expected, `cut at step ${cut}`);
      assert.deepEqual(resumed.history(), reference.history(), `history after a cut at step ${cut}`);
    }
    assert.ok(midWindow > 10, 'most cuts fall inside a window');
  });

  it('load() rejects a state from other options, another kind or garbage', () => {
    const policy = new AdaptivePolicy({ windowSteps: 10, warmupSteps: 0 });
    drive(policy, 0, 15, falling);
    const state = policy.state();
    assert.throws(() => new AdaptivePolicy({ windowSteps: 20, warmupSteps: 0 }).load(state), badArgument(/other options \(windowSteps: 10 there, 20 here\)/));
    assert.throws(() => new AdaptivePolicy({ windowSteps: 10, warmupSteps: 0, allowModelEnergy: true }).load(state), badArgument(/allowModelEnergy/));
    assert.throws(() => new AdaptivePolicy({ windowSteps: 10, warmupSteps: 0 }).load({ compute: 'f32', wire: 'f32', lossScaling: false }), badArgument(/static policy, not an adaptive one/));
    assert.throws(() => new AdaptivePolicy({ windowSteps: 10, warmupSteps: 0 }).load({ ...state, rung: 9 }), badArgument(/rung is malformed/));
    assert.throws(() => new AdaptivePolicy({ windowSteps: 10, warmupSteps: 0 }).load(null), badArgument(/needs a state object/));
    // The same options spelled differently (defaults written out) are the same options.
    new AdaptivePolicy({ windowSteps: 10, warmupSteps: 0, minSavingFraction: 0.05, start: { compute: 'f32', wire: 'f32' } }).load(state);
  });

  it('rejects bad options and observations with JOULE_BAD_ARGUMENT naming the field', () => {
    const cases: [AdaptivePolicyOptions, RegExp][] = [
      [{ windowSteps: 0 }, /windowSteps must be an integer ≥ 1/],
      [{ retryAfterWindows: 1.5 }, /retryAfterWindows/],
      [{ warmupSteps: -1 }, /warmupSteps must be an integer ≥ 0/],
      [{ maxRelError: -1 }, /maxRelError/],
      [{ maxUnderflowFraction: Infinity }, /maxUnderflowFraction/],
      [{ maxSkippedFraction: 1.5 }, /maxSkippedFraction/],
      [{ minSavingFraction: NaN }, /minSavingFraction/],
      [{ allowModelEnergy: 'yes' as never }, /allowModelEnergy must be a boolean/],
      [{ start: { compute: 'bf16', wire: 'f32' } }, /start must be a rung of the ladder \(f32\/f32, f32\/bf16, bf16\/bf16, f16\/f16\)/],
      [{ floor: { compute: 'f32', wire: 'f16' } }, /floor must be a rung/],
      [{ start: { compute: 'bf16', wire: 'bf16' }, floor: { compute: 'f32', wire: 'bf16' } }, /floor f32\/bf16 is above start bf16\/bf16/],
      [{ lossScaling: { growthFactor: 0.5 } }, /lossScaling: .*growthFactor/],
      [{ windowStep: 10 } as never, /unknown option "windowStep"/],
    ];
    for (const [options, pattern] of cases) assert.throws(() => new AdaptivePolicy(options), badArgument(pattern), JSON.stringify(options));
    const policy = new AdaptivePolicy();
    assert.throws(() => policy.decide(-1), badArgument(/step must be a non-negative integer/));
    const ok: PrecisionObservation = { step: 0, durationS: 1, skipped: false };
    policy.observe(ok);
    assert.throws(() => policy.observe({ ...ok, energyJ: 5 }), badArgument(/energyJ needs energySource/));
    assert.throws(() => policy.observe({ ...ok, energyJ: -5, energySource: 'nvml' }), badArgument(/energyJ must be/));
    assert.throws(() => policy.observe({ ...ok, wireStats: stats(NaN) }), badArgument(/wireStats.relError/));
  });
});
