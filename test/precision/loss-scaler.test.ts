// LossScaler: GradScaler's growth/backoff/skip rules, the fused unscale + finite check, checkpoints.
import assert from 'node:assert/strict';
import { isJouleError } from '../../src/errors';
import { LossScaler } from '../../src/precision/loss-scaler';
import { StaticPolicy, type PrecisionPolicy } from '../../src/precision/policy';

describe('precision: LossScaler', () => {
  it("starts at GradScaler's defaults: 2^16, x2 after 2000 clean steps, x0.5 on overflow", () => {
    const scaler = new LossScaler();
    assert.equal(scaler.scale, 65536);
    assert.equal(scaler.scaleLoss(0.25), 16384);
    for (let i = 0; i < 1999; ++i) assert.deepEqual(scaler.update({ finite: true }), { skipped: false, scale: 65536 });
    assert.deepEqual(scaler.update({ finite: true }), { skipped: false, scale: 131072 });
    assert.deepEqual(scaler.update({ finite: false }), { skipped: true, scale: 65536 });
    const state = scaler.state();
    assert.equal(state.steps, 2001);
    assert.equal(state.skipped, 1);
    assert.equal(state.growthTracker, 0);
  });

  it('an overflow resets the run of clean steps', () => {
    const scaler = new LossScaler({ initScale: 8, growthInterval: 3 });
    scaler.update({ finite: true });
    scaler.update({ finite: true });
    assert.equal(scaler.update({ finite: false }).scale, 4);
    scaler.update({ finite: true });
    scaler.update({ finite: true });
    assert.equal(scaler.scale, 4, 'two clean steps after the overflow are not enough');
    assert.equal(scaler.update({ finite: true }).scale, 8);
  });

  it('keeps the scale within [minScale, maxScale]', () => {
    const scaler = new LossScaler({ initScale: 4, minScale: 1, maxScale: 16, growthInterval: 1, growthFactor: 4 });
    assert.equal(scaler.update({ finite: true }).scale, 16);
    assert.equal(scaler.update({ finite: true }).scale, 16);
    for (let i = 0; i < 10; ++i) scaler.update({ finite: false });
    assert.equal(scaler.scale, 1);
  });

  it('unscales gradients in place and finds NaN and Inf in any of them', () => {
    const scaler = new LossScaler({ initScale: 1024 });
    const a = Float32Array.from({ length: 1000 }, (_, i) => i * 1024);
    const b = new Float32Array(70_000).fill(-2048);
    const clean = scaler.unscale([a, b]);
    assert.deepEqual(clean, { finite: true, nonFinite: 0 });
    assert.equal(a[999], 999);
    assert.equal(b[69_999], -2);
    b[12_345] = Infinity;
    a[3] = NaN;
    assert.deepEqual(scaler.unscale([a, b]), { finite: false, nonFinite: 2 });
  });

  it('step() runs the optimizer only when the gradients are finite, and moves the scale', () => {
    const scaler = new LossScaler({ initScale: 256 });
    let applied = 0;
    const grads = new Float32Array(100).fill(256);
    assert.equal(scaler.step(grads, () => applied++), true);
    assert.equal(grads[0], 1);
    grads[50] = NaN;
    assert.equal(scaler.step(grads, () => applied++), false);
    assert.equal(applied, 1);
    assert.equal(scaler.scale, 128);
  });

  it('unscaleAsync gives what unscale gives', async () => {
    const scaler = new LossScaler({ initScale: 4 });
    const grads = [new Float32Array(300_000).fill(8), Float32Array.from([1, NaN, 4])];
    const result = await scaler.unscaleAsync(grads);
    assert.deepEqual(result, { finite: false, nonFinite: 1 });
    assert.equal(grads[0][299_999], 2);
    assert.equal(grads[1][2], 1);
  });

  it('state() and load() carry a checkpoint: a restored scaler continues exactly like the original', () => {
    const pattern = [true, true, false, true, true, true, true, false, true, true, true, true, true];
    const original = new LossScaler({ initScale: 32, growthInterval: 4 });
    pattern.slice(0, 6).forEach((finite) => original.update({ finite }));
    const checkpoint = JSON.parse(JSON.stringify(original.state()));
    const restored = new LossScaler();
    restored.load(checkpoint);
    assert.deepEqual(restored.state(), original.state());
    for (const finite of pattern.slice(6)) assert.deepEqual(restored.update({ finite }), original.update({ finite }));
    assert.deepEqual(restored.state(), original.state());
  });

  it('a disabled scaler is 1 and never skips', () => {
    const scaler = new LossScaler({ enabled: false });
    assert.equal(scaler.scale, 1);
    const grads = Float32Array.from([3, NaN]);
    assert.equal(scaler.unscale(grads).finite, false);
    assert.equal(grads[0], 3);
    assert.deepEqual(scaler.update({ finite: false }), { skipped: false, scale: 1 });
  });

  it('rejects bad options and bad states with JOULE_BAD_ARGUMENT', () => {
    const bad = (fn: () => unknown, pattern: RegExp) =>
      assert.throws(fn, (error: unknown) => isJouleError(error, 'JOULE_BAD_ARGUMENT') && pattern.test((error as Error).message));
    bad(() => new LossScaler({ initScale: 0 }), /initScale must be a finite positive number/);
    bad(() => new LossScaler({ growthFactor: 1 }), /growthFactor must be greater than 1/);
    bad(() => new LossScaler({ backoffFactor: 2 }), /backoffFactor must be less than 1/);
    bad(() => new LossScaler({ growthInterval: 0.5 }), /growthInterval/);
    bad(() => new LossScaler({ initScale: 2 ** 30 }), /initScale is outside/);
    const scaler = new LossScaler();
    bad(() => scaler.load({ ...scaler.state(), scale: -1 }), /state.scale/);
    bad(() => scaler.load({ ...scaler.state(), growthTracker: 5000 }), /growthTracker/);
    bad(() => scaler.load(null as never), /needs a state object/);
  });
});

describe('precision: StaticPolicy', () => {
  it('turns a precision name into a decision (f16 turns loss scaling on) and checks checkpoints', () => {
    const bf16: PrecisionPolicy = new StaticPolicy('bf16');
    const f16: PrecisionPolicy = new StaticPolicy('f16');
    assert.deepEqual(bf16.decide(0), { compute: 'bf16', wire: 'bf16', lossScaling: false });
    assert.deepEqual(f16.decide(7).lossScaling, {});
    const mixed = new StaticPolicy({ compute: 'f32', wire: 'bf16', lossScaling: false });
    mixed.load(mixed.state());
    assert.throws(() => mixed.load(new StaticPolicy('f32').state()), (e: unknown) => isJouleError(e, 'JOULE_BAD_ARGUMENT'));
    assert.throws(() => new StaticPolicy('fp8' as never), (e: unknown) => isJouleError(e, 'JOULE_BAD_ARGUMENT'));
  });
});
