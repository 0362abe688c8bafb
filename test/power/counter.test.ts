// The sampler's counter arithmetic on scripted readings: RAPL wraps (one, several in a long gap) and NVML resets.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fakesDir } from '../helpers/run';
import { skipBecause } from '../helpers/skip';

const driver = path.join(fakesDir, 'counter_driver');

/** Feeds the lines to the driver and returns [joules, wraps, resets] after each. */
function feed(lines: string[]): [number, number, number][] {
  const result = spawnSync(driver, { input: `${lines.join('\n')}\n`, encoding: 'utf8' });
  assert.equal(result.status, 0, result.stderr);
  return result.stdout.trim().split('\n').map((line) => line.split(' ').map(Number) as [number, number, number]);
}

describe('power: counter arithmetic (native)', function () {
  before(function () {
    if (!fs.existsSync(driver)) skipBecause(this, `${driver} is not built (the cmake-js build makes it with the test fakes; node-gyp does not)`);
  });

  it('adds a wrapped RAPL counter across one wrap', () => {
    // range 1000 units of 1 J; a zone that can draw at most 100 W needs 10 s to wrap.
    const out = feed(['wrap 0 1000 1 0 100', 'wrap 400 1000 1 4 100', 'wrap 800 1000 1 8 100', 'wrap 200 1000 1 12 100']);
    assert.deepEqual(out.at(-1), [1200, 1, 0]);
  });

  it('completes several wraps in a gap long enough for them from the previous interval\'s power', () => {
    // 500 W steadily, range 1000 J, at most 1000 W: a wrap every 2 s, a full range in 1 s at most.
    const out = feed([
      'wrap 0 1000 1 0 1000',
      'wrap 250 1000 1 0.5 1000', // 250 J: 500 W
      'wrap 750 1000 1 3.5 1000', // 1500 J later: one full range invisible in the value
      'wrap 150 1000 1 8.3 1000', // 2400 J later: a visible wrap and two invisible ones
    ]);
    assert.deepEqual(out[2], [1750, 1, 0]);
    assert.deepEqual(out[3], [4150, 4, 0]);
  });

  it('does not guess wraps in a gap too short for a full range', () => {
    const out = feed(['wrap 0 1000 1 0 1000', 'wrap 900 1000 1 0.1 1000', 'wrap 950 1000 1 0.2 1000']);
    assert.deepEqual(out.at(-1), [950, 0, 0]);
  });

  it('counts an NVML counter reset and bridges it with the power reading, or with nothing', () => {
    const out = feed(['grow 1000 0.001 0 nan', 'grow 5000 0.001 1 nan', 'grow 200 0.001 2 3', 'grow 1200 0.001 3 nan', 'grow 100 0.001 4 nan']);
    assert.deepEqual(out.map(([j, , r]) => [Number(j.toFixed(6)), r]), [[0, 0], [4, 0], [7, 1], [8, 1], [8, 2]]);
  });
});
