// joule recommend on a fixture sweep with known figures: the Pareto front, constraints, objectives, ties where repeats overlap, and the refusal to rank modelled against measured energy.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { joule } from '../helpers/run';
import { writeLbsPrecisionSweep } from './fixtures';

describe('joule recommend', () => {
  let dir = '';
  let sweep = '';
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'joule-recommend-'));
    sweep = path.join(dir, 'lbs-precision');
    writeLbsPrecisionSweep(sweep);
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  const recommend = async (...args: string[]) => {
    const result = await joule(['recommend', sweep, '--json', ...args]);
    assert.equal(result.code, 0, result.stderr);
    return JSON.parse(result.stdout);
  };

  it('marks the Pareto front of energy, time and accuracy, with each configuration\'s repeats and spread', async () => {
    const result = await recommend();
    const byConfig = Object.fromEntries(result.candidates.map((c: { config: string }) => [c.config, c]));
    // lbs=32 fp32 is dominated by lbs=64 fp32 (less energy and time, same accuracy); the others trade accuracy for energy.
    assert.deepEqual(
      result.candidates.filter((c: { pareto: boolean }) => c.pareto).map((c: { config: string }) => c.config),
      ['lbs=64,precision=fp32', 'lbs=64,precision=bf16', 'lbs=128,precision=bf16'],
    );
    const b = byConfig['lbs=64,precision=fp32'];
    assert.equal(b.repeats, 2);
    assert.deepEqual([b.energyJ.mean, b.energyJ.min, b.energyJ.max], [82, 80, 84]);
    assert.equal(b.energySource, 'nvml-counter');
    assert.ok(Math.abs(b.edpJs.mean - (80 * 8.2 + 84 * 8.5) / 2) < 1e-9);
    // Configurations the fixture left out of the grid (lbs=32 bf16, lbs=128 fp32) have no runs and are not candidates.
    assert.equal(result.candidates.length, 4);
  });

  it('without constraints, the least energy wins outright', async () => {
    const result = await recommend();
    assert.equal(result.best, 'lbs=128,precision=bf16');
    assert.deepEqual(result.ties, []);
  });

  it('with --min-accuracy, the cheapest accurate configuration ties with one whose repeats overlap it', async () => {
    const result = await recommend('--min-accuracy', '0.85');
    assert.equal(result.best, 'lbs=64,precision=bf16');
    assert.deepEqual(result.ties, ['lbs=64,precision=fp32']);
    assert.match(result.verdict, /no clear winner on energy: lbs=64,precision=bf16 .* ties with lbs=64,precision=fp32/);
    const excluded = result.candidates.find((c: { config: string }) => c.config === 'lbs=128,precision=bf16');
    assert.deepEqual(excluded.excludedBy, ['accuracy 0.8050 < 0.85']);
    const text = await joule(['recommend', sweep, '--min-accuracy', '0.85']);
    assert.match(text.stdout, /^lbs=64,precision=fp32 .* TIE$/m);
    assert.match(text.stdout, /^lbs=64,precision=bf16 .* BEST$/m);
  });

  it('on time, the same two no longer overlap; --max-time excludes the slow ones; none left is exit 1', async () => {
    const time = await recommend('--objective', 'time', '--min-accuracy', '0.85');
    assert.equal(time.best, 'lbs=64,precision=bf16');
    assert.deepEqual(time.ties, []);
    const edp = await recommend('--objective', 'edp', '--max-time', '9s');
    assert.equal(edp.best, 'lbs=128,precision=bf16');
    assert.match(edp.candidates.find((c: { config: string }) => c.config === 'lbs=32,precision=fp32').excludedBy[0], /^time 10\.50 s > 9 s$/);
    const none = await joule(['recommend', sweep, '--max-time', '1s']);
    assert.equal(none.code, 1);
    assert.match(none.stdout, /no configuration meets the constraints/);
  });

  it('refuses to rank modelled energy against measured energy', async () => {
    const mixed = path.join(dir, 'mixed');
    writeLbsPrecisionSweep(mixed, { mixSources: true });
    const result = await joule(['recommend', mixed]);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /energy comes from different sources \(nvml-counter, model\).*\[JOULE_BAD_ARGUMENT\]/);
  });
});
