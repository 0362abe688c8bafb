// The sampler's schedule survives kicks: every window end kicks the thread for an extra reading, and a
// burst of them must not push the next scheduled tick away (a training run's last step window once
// waited 10 s for a reading because each of its thousand earlier kicks had moved the schedule a period on).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PowerMonitor } from '../../src/power/monitor';

describe('power sampler: kicks and the schedule', function () {
  this.timeout(30_000);
  const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'joule-no-powercap-'));
  const saved = { root: process.env.JOULE_POWERCAP_ROOT, nvml: process.env.JOULE_NVML_LIBRARY };
  before(() => {
    // Nothing to measure on any machine: the model channel alone, so the test does not depend on the host.
    process.env.JOULE_POWERCAP_ROOT = empty;
    process.env.JOULE_NVML_LIBRARY = path.join(empty, 'no-nvml.so');
  });
  after(() => {
    for (const [key, value] of [['JOULE_POWERCAP_ROOT', saved.root], ['JOULE_NVML_LIBRARY', saved.nvml]] as const) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
    fs.rmSync(empty, { recursive: true, force: true });
  });

  it('a window closed after 1000 kicked windows still resolves on the regular ticks', async () => {
    const monitor = new PowerMonitor({});
    await monitor.start();
    try {
      // 1000 windows opened and closed back to back, each kicking the thread (spaced past the kick throttle).
      for (let i = 0; i < 1000; i++) {
        const until = process.hrtime.bigint() + 2_000_000n;
        monitor.begin('burst');
        while (process.hrtime.bigint() < until);
        void monitor.end();
      }
      const before = monitor.stats().ticks;
      // The last window's end kicks too, but within the throttle of the previous kick: only a scheduled tick
      // can finish it. Had the kicks moved the schedule, that tick would come 1000 periods (100 s) later,
      // past this test's timeout.
      monitor.begin('last');
      const result = await monitor.end();
      assert.ok(result.durationS >= 0);
      assert.ok(monitor.stats().ticks > before);
    } finally {
      await monitor.stop();
    }
  });
});
