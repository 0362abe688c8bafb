// Collective benchmarks inside `joule launch` where only some ranks measure (RAPL on local rank 0, a
// GPU per rank): every rank must still run the same collectives, and the energy columns say their source.
import assert from 'node:assert/strict';
import path from 'node:path';
import { rankZeroJson } from '../helpers/bench-json';
import { fakeNccl, fakeNvml, fakesDir, joule, jouleBin } from '../helpers/run';
import { fakePowercap } from '../power/powercap';

const benchArgs = ['bench', 'allreduce', '-b', '1K', '-e', '64K', '-f', '64', '-n', '2', '-w', '1', '--json'];

describe('bench energy under joule launch', function () {
  this.timeout(120_000);

  it('a fake RAPL tree (read by local rank 0 only): both ranks finish and the rows carry rapl energy', async () => {
    const tree = fakePowercap([{ zone: 'intel-rapl:0', name: 'package-0', energyUj: 1_000, maxEnergyRangeUj: 262_143_328_850 }]);
    try {
      const result = await joule(['launch', '-n', '2', '--', process.execPath, jouleBin, ...benchArgs], { JOULE_POWERCAP_ROOT: tree.root });
      assert.equal(result.code, 0, result.stderr);
      assert.doesNotMatch(result.stderr, /JOULE_COLLECTIVE_MISMATCH/);
      const report = rankZeroJson(result.stdout);
      assert.equal(report.rows.length, 2);
      for (const row of report.rows) {
        // The fake counter does not move: 0 J measured, but measured (not n/a) and by RAPL.
        assert.equal(row.energyPerOpJ, 0);
        assert.match(row.energySource, /rapl/);
      }
    } finally {
      tree.remove();
    }
  });

  it('fake NVML on one rank only (JOULE_GPU_COUNT=1, 2 ranks): both ranks finish with nvml energy', async () => {
    const env = { JOULE_GPU_COUNT: '1', JOULE_NVML_LIBRARY: fakeNvml, JOULE_CUDA_LIBRARY: path.join(fakesDir, 'libjoule_cuda.so'), JOULE_FAKE_CUDA_DEVICES: '1', JOULE_NCCL_LIBRARY: fakeNccl };
    const result = await joule(['launch', '-n', '2', '--', process.execPath, jouleBin, ...benchArgs, '--backend', 'shm'], env);
    assert.equal(result.code, 0, result.stderr);
    const report = rankZeroJson(result.stdout);
    for (const row of report.rows) {
      assert.ok(row.energyPerOpJ !== null && row.energyPerOpJ > 0, `measured: ${row.energyPerOpJ}`);
      assert.match(row.energySource, /nvml/);
    }
  });

  it('nothing measured: the model figure is given apart and labelled, never as J/op', async () => {
    const result = await joule(['launch', '-n', '2', '--', process.execPath, jouleBin, ...benchArgs]);
    assert.equal(result.code, 0, result.stderr);
    for (const row of rankZeroJson(result.stdout).rows) {
      assert.equal(row.energyPerOpJ, null);
      assert.ok(row.modelEnergyPerOpJ !== null && row.modelEnergyPerOpJ > 0, `model: ${row.modelEnergyPerOpJ}`);
      assert.match(row.energySource, /model/);
    }
  });
});
