// joule train --precision adaptive acts on measured energy and only on it: with a (fake) RAPL counter the
// policy measures f32, tries a lower wire and says which source its decision rests on; with nothing to
// measure it holds f32 and says why, unless the user lets the model count.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { joule } from '../helpers/run';
import { assertValidRunDirsUnder } from '../helpers/run-schema';
import { advanceCounter, fakePowercap } from '../power/powercap';

interface Decision {
  step: number;
  from: string;
  to: string;
  event: string;
  reason: string;
}

const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'joule-adaptive-'));
const noPowercap = fs.mkdtempSync(path.join(os.tmpdir(), 'joule-no-powercap-'));
const noNvml = { JOULE_NVML_LIBRARY: path.join(scratch, 'no-nvml.so') };
// 40 steps: the trainer's adaptive window is then 10 steps (2 of warm-up), so a measure window and a trial fit.
const adaptiveRun = ['train', '-n', '2', '--model', 'mlp', '--dataset', 'synthetic-images', '--train-size', '2560', '--test-size', '64', '--lbs', '16', '--max-steps', '40', '--precision', 'adaptive', '--json'];
let runs = 0;

async function train(env: NodeJS.ProcessEnv, extra: string[] = []) {
  const dir = path.join(scratch, `run-${++runs}`);
  const result = await joule([...adaptiveRun, ...extra, '--run-dir', dir], { ...noNvml, ...env }, { timeoutMs: 120_000 });
  assert.equal(result.code, 0, result.stderr);
  assertValidRunDirsUnder(dir);
  const lines = (file: string) => fs.readFileSync(path.join(dir, file), 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l));
  return { summary: JSON.parse(result.stdout), decisions: lines('precision.jsonl') as Decision[], steps: lines('steps.jsonl') as { rank: number; wire: string; energy: { source: string } }[] };
}

describe('joule train --precision adaptive', function () {
  this.timeout(180_000);
  after(() => {
    fs.rmSync(scratch, { recursive: true, force: true });
    fs.rmSync(noPowercap, { recursive: true, force: true });
  });

  it('measures f32 with RAPL, tries a lower wire, and every decision names rapl as its evidence', async () => {
    const tree = fakePowercap([{ zone: 'intel-rapl:0', name: 'package-0', energyUj: 1_000_000, maxEnergyRangeUj: 262_143_328_850 }]);
    // 5 W: 0.1 J every 20 ms.
    const stop = advanceCounter(tree.energyFile('intel-rapl:0'), 100_000, 20);
    try {
      const { summary, decisions, steps } = await train({ JOULE_POWERCAP_ROOT: tree.root });
      assert.ok(steps.every((s) => s.energy.source === 'rapl'), 'every step measured by RAPL');
      const trial = decisions.find((d) => d.event === 'trial');
      assert.ok(trial, `a trial of a lower rung: ${JSON.stringify(decisions)}`);
      assert.equal(trial.from, 'f32/f32');
      assert.match(trial.reason, /rapl/);
      assert.ok(decisions.every((d) => !/came from the model/.test(d.reason)), JSON.stringify(decisions));
      // The trial's rung reached the wire: some steps went out below f32, and the summary counts them.
      assert.ok(steps.some((s) => s.wire !== 'f32'), 'some step on a lower wire');
      assert.equal(summary.precision.wire.f32 + summary.precision.wire.bf16 + summary.precision.wire.f16, 40);
      assert.ok(summary.precision.wire.f32 < 40);
      assert.deepEqual(summary.precision.decisions, decisions.map(({ step, from, to, event, reason }) => ({ step, from, to, event, reason })));
    } finally {
      stop();
      tree.remove();
    }
  });

  it('holds f32 when only the model knows the energy, and says so', async () => {
    const { summary, decisions, steps } = await train({ JOULE_POWERCAP_ROOT: noPowercap });
    assert.ok(steps.every((s) => s.wire === 'f32'));
    assert.equal(summary.precision.wire.f32, 40);
    assert.ok(decisions.length > 0 && decisions.every((d) => d.event === 'hold' && /model/.test(d.reason)), JSON.stringify(decisions));
  });

  it('acts on modelled energy when the user allows it, and labels the evidence model', async () => {
    const { decisions } = await train({ JOULE_POWERCAP_ROOT: noPowercap }, ['--allow-model-energy']);
    const trial = decisions.find((d) => d.event === 'trial');
    assert.ok(trial, JSON.stringify(decisions));
    assert.match(trial.reason, /model/);
  });
});
