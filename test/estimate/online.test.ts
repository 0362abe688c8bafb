import assert from 'node:assert/strict';
import { isJouleError } from '../../src/errors';
import { stepEstimate } from '../../src/estimate/methods/step';
import { OnlineProjector } from '../../src/estimate/online';
import { parseDurationS, parseEnergyJ } from '../../src/units';
import { scriptedPower } from './synthetic';

const epochs = [
  { durationS: 130, energyJ: 20_000 },
  { durationS: 110, energyJ: 26_000 },
  ...Array.from({ length: 6 }, () => ({ durationS: 100, energyJ: 25_000 })),
];

describe('online projector', () => {
  it('projects with STEP once s + w epochs are in, a shorter window before, and says so', () => {
    const p = new OnlineProjector({ plannedEpochs: 20, predictAfter: 2, s: 2, w: 3, pue: 1.2, carbonGPerKWh: 400 });
    const seen: (ReturnType<OnlineProjector['project']>)[] = [];
    epochs.forEach((e, i) => {
      p.observeEpoch({ epoch: i + 1, ...e, source: 'nvml' });
      seen.push(p.project());
    });
    assert.equal(seen[0], null);
    assert.equal(seen[1]!.method, 'carbontracker');
    assert.equal(seen[1]!.energyJ, 23_000 * 20);
    assert.equal(seen[2]!.window, 1);
    assert.equal(seen[2]!.energyJ, stepEstimate(epochs, { s: 2, w: 1 }, 20).energyJ);
    const full = seen[4]!;
    assert.equal(full.method, 'step');
    assert.equal(full.window, 3);
    assert.equal(full.stabilizingHow, 'fixed');
    assert.equal(full.energyJ, 46_000 + 75_000 * 6);
    assert.equal(full.durationS, 240 + 300 * 6);
    assert.equal(full.facilityEnergyJ, full.energyJ * 1.2);
    assert.equal(full.co2eG, ((full.energyJ * 1.2) / 3.6e6) * 400);
    assert.equal(full.onlinePowerJ, 250 * (240 + 300 + 100 * 15));
    assert.equal(full.source, 'nvml');
  });

  it('flags a projection over the budget', () => {
    const p = new OnlineProjector({ plannedEpochs: 20, s: 0, w: 2, budgetJ: 450_000 });
    p.observeEpoch({ epoch: 1, durationS: 100, energyJ: 20_000, source: 'model' });
    assert.equal(p.project()!.overBudget, false);
    p.observeEpoch({ epoch: 2, durationS: 100, energyJ: 30_000, source: 'model' });
    assert.equal(p.project()!.energyJ, 500_000);
    assert.equal(p.project()!.overBudget, true);
  });

  it('never mixes sources, and rejects bad options with a code', () => {
    const p = new OnlineProjector({ plannedEpochs: 5 });
    p.observeEpoch({ epoch: 1, durationS: 10, energyJ: 100, source: 'model' });
    assert.throws(() => p.observeEpoch({ epoch: 2, durationS: 10, energyJ: 100, source: 'nvml' }), (e: unknown) => isJouleError(e, 'JOULE_BAD_ARGUMENT'));
    assert.throws(() => new OnlineProjector({ plannedEpochs: 0 }), (e: unknown) => isJouleError(e, 'JOULE_BAD_ARGUMENT'));
    assert.throws(() => new OnlineProjector({ plannedEpochs: 3, w: 0 }), /w must be a positive integer/);
    assert.throws(() => p.observeEpoch({ epoch: 2, durationS: 0, energyJ: 1, source: 'model' }), /durationS must be > 0/);
  });

  it('detects s from power samples when the trainer hands them in; else s = 1 by default', () => {
    const power = scriptedPower({ seconds: 1200, warmupS: 240, seed: 2 });
    const p = new OnlineProjector({ plannedEpochs: 40 });
    p.observePower(power.map((_, i) => i), power);
    for (let e = 0; e < 20; e++) {
      p.markEpochStart(e * 60);
      const energyJ = power.slice(e * 60, (e + 1) * 60).reduce((a, b) => a + b, 0);
      p.observeEpoch({ epoch: e + 1, durationS: 60, energyJ, source: 'nvml' });
    }
    const projection = p.project()!;
    assert.equal(projection.stabilizingHow, 'detected');
    // The boundary lies in the 240 s warm-up: one of its epochs.
    assert.ok(projection.stabilizingEpoch >= 0 && projection.stabilizingEpoch <= 4, `s = ${projection.stabilizingEpoch}`);
    const plain = new OnlineProjector({ plannedEpochs: 40 });
    plain.observeEpoch({ epoch: 1, durationS: 60, energyJ: 1, source: 'nvml' });
    assert.equal(plain.project()!.stabilizingHow, 'default');
    assert.equal(plain.project()!.stabilizingEpoch, 1);
  });

  it('reads energies and durations as people type them', () => {
    assert.equal(parseEnergyJ('1.5kWh'), 5.4e6);
    assert.equal(parseEnergyJ('800 kJ'), 8e5);
    assert.equal(parseEnergyJ('5e6'), 5e6);
    assert.throws(() => parseEnergyJ('5 kw'), (e: unknown) => isJouleError(e, 'JOULE_BAD_ARGUMENT') && /not an energy/.test((e as Error).message));
    assert.equal(parseDurationS('10h'), 36_000);
    assert.equal(parseDurationS('12:00:00'), 43_200);
    assert.equal(parseDurationS('90m'), 5400);
    assert.throws(() => parseDurationS('soon'), /not a duration/);
  });
});
