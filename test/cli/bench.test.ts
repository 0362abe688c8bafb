// `joule bench <collective>`: nccl-tests columns and factors, result checks, JSON rows, bad input.
import assert from 'node:assert/strict';
import { skipBecause } from '../helpers/skip';
import os from 'node:os';
import path from 'node:path';
import { rankZeroJson, type BenchReport } from '../helpers/bench-json';
import { fakeNccl, fakeNvml, fakesDir, joule, jouleBin } from '../helpers/run';

describe('joule bench (collectives)', function () {
  this.timeout(120_000);

  for (const [collective, ranks, factor] of [
    ['allreduce', 4, 1.5],
    ['allgather', 2, 0.5],
    ['reducescatter', 4, 0.75],
    ['broadcast', 2, 1],
    ['sendrecv', 2, 1],
  ] as const) {
    it(`${collective} on ${ranks} local ranks: checked rows with nccl-tests' bus factor ${factor}`, async () => {
      const result = await joule(['bench', collective, '-N', String(ranks), '-b', '8', '-e', '96K', '-f', '16', '-n', '3', '-w', '1', '--dtype', 'bfloat16', '--json'], { JOULE_POWER: 'off' });
      assert.equal(result.code, 0, result.stderr);
      const report = JSON.parse(result.stdout) as BenchReport;
      assert.equal(report.ranks, ranks);
      assert.equal(report.backend, 'shm');
      assert.equal(report.wrong, 0);
      // 8 B, 128 B, 2 KiB, 32 KiB; allgather/reducescatter round to whole elements per rank.
      assert.equal(report.rows.length, 4);
      for (const row of report.rows) {
        assert.equal(row.count, row.bytes / 2);
        for (const mode of [row.outOfPlace, row.inPlace]) {
          assert.equal(mode.wrong, 0);
          assert.ok(mode.timeUs > 0);
          assert.ok(Math.abs(mode.algbwGBs - row.bytes / mode.timeUs / 1e3) < 1e-9);
          assert.ok(Math.abs(mode.busbwGBs - mode.algbwGBs * factor) < 1e-9);
        }
        // No power module in this run (JOULE_POWER=off): energy is absent, never made up.
        assert.equal(row.energyPerOpJ, null);
        assert.match(row.energySource, /no power module/);
      }
    });
  }

  it('prints the nccl-tests table with energy columns that name their source', async () => {
    const result = await joule(['bench', 'allreduce', '-N', '2', '-b', '1K', '-e', '4K', '-f', '4', '-n', '2', '-w', '0', '--op', 'max'], { JOULE_POWER: 'off' });
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /out-of-place +in-place +energy/);
    assert.match(result.stdout, /#wrong.*#wrong.*J\/op.*GB\/J +source/);
    // Nothing measures here (pinned environment): either no figure, or the model's, labelled as such.
    assert.match(result.stdout, /^ +1024 +256 +f32 +max +-1 .* 0 +(n\/a +n\/a +n\/a|\S+ +\S+ +model)$/m);
    assert.match(result.stdout, /# Out of bounds values : 0 OK/);
  });

  it('runs inside joule launch, with the power module attached (measured energy n/a, the model\'s figure apart and labelled)', async () => {
    const result = await joule(['launch', '-n', '2', '--', process.execPath, jouleBin, 'bench', 'allreduce', '-b', '1K', '-e', '64K', '-f', '64', '-n', '2', '-w', '1', '--json']);
    assert.equal(result.code, 0, result.stderr);
    const report = rankZeroJson(result.stdout);
    assert.equal(report.ranks, 2);
    assert.equal(report.wrong, 0);
    assert.deepEqual(report.rows.map((r) => r.bytes), [1024, 65536]);
    for (const row of report.rows) {
      // No RAPL and no GPU (pinned): the power module has only its model, which is never counted as measured.
      assert.equal(row.energyPerOpJ, null);
      assert.ok(row.modelEnergyPerOpJ !== null && row.modelEnergyPerOpJ > 0);
      assert.match(row.energySource, /^model only/);
    }
  });

  it('counts wrong results and exits 3 when the library gets them wrong (fake NCCL: each rank keeps its own input)', async () => {
    // The fake libnccl.so.2 has single-process semantics, so a 2-rank sum comes back as this rank's
    // own values: the check must see it. Fake NVML energy counters give the energy columns a source.
    const env = {
      JOULE_GPU_COUNT: '2',
      JOULE_NCCL_LIBRARY: fakeNccl,
      JOULE_NVML_LIBRARY: fakeNvml,
      JOULE_CUDA_LIBRARY: path.join(fakesDir, 'libjoule_cuda.so'),
      JOULE_FAKE_CUDA_DEVICES: '2',
    };
    const result = await joule(['launch', '-n', '2', '--', process.execPath, jouleBin, 'bench', 'allreduce', '--backend', 'nccl', '-b', '8', '-e', '512', '-f', '8', '-n', '2', '-w', '1', '--json'], env);
    assert.equal(result.code, 3, result.stderr);
    const report = rankZeroJson(result.stdout);
    assert.equal(report.backend, 'nccl');
    assert.deepEqual(report.rows.map((r) => r.bytes), [8, 64, 512]);
    // Wrong wherever the other rank's value is not zero: most elements, counted over both ranks.
    let total = 0;
    for (const row of report.rows) {
      for (const mode of [row.outOfPlace, row.inPlace]) {
        assert.ok(mode.wrong > row.count && mode.wrong <= 2 * row.count, `${row.bytes} B: ${mode.wrong} wrong of 2 x ${row.count}`);
        total += mode.wrong;
      }
    }
    assert.equal(report.wrong, total);
    for (const row of report.rows) {
      assert.ok(row.energyPerOpJ !== null && row.energyPerOpJ > 0, `energy per op measured: ${row.energyPerOpJ}`);
      assert.match(row.energySource, /nvml/);
    }
    assert.match(result.stderr, /rank \d .*exited with code 3/);
  });

  it('-N above the launcher\'s ranks-per-CPU limit is refused unless --oversubscribe', async function () {
    const over = 4 * os.availableParallelism() + 1;
    const refused = await joule(['bench', 'allreduce', '-N', String(over), '-b', '8', '-e', '8', '-n', '1', '-w', '0'], { JOULE_POWER: 'off' });
    assert.equal(refused.code, 2, refused.stderr);
    assert.match(refused.stderr, /add --oversubscribe/);
    if (over > 9) skipBecause(this, `${over} ranks are too many to start in a test on this ${os.availableParallelism()}-CPU machine`);
    const allowed = await joule(['bench', 'allreduce', '-N', String(over), '--oversubscribe', '-b', '8', '-e', '8', '-n', '1', '-w', '0', '--json'], { JOULE_POWER: 'off' }, { timeoutMs: 120_000 });
    assert.equal(allowed.code, 0, allowed.stderr);
    assert.equal(JSON.parse(allowed.stdout).ranks, over);
  });

  it('-N 4 --pretend-nodes 2: the launcher places the ranks on two pretend nodes and allreduce goes hierarchical, checked', async () => {
    const result = await joule(['bench', 'allreduce', '-N', '4', '--pretend-nodes', '2', '-b', '4K', '-e', '64K', '-f', '16', '-n', '2', '-w', '1', '--op', 'avg', '--json'], { JOULE_POWER: 'off' });
    assert.equal(result.code, 0, result.stderr);
    const report = JSON.parse(result.stdout) as BenchReport;
    assert.deepEqual([report.ranks, report.backend, report.loop, report.wrong], [4, 'hierarchical', 'promise', 0]);
    assert.deepEqual(report.rows.map((r) => r.bytes), [4096, 65536]);
    const refused = await joule(['bench', 'allreduce', '--pretend-nodes', '2']);
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /--pretend-nodes needs -N ranks to place \[JOULE_BAD_ARGUMENT\]/);
  });

  it('rejects bad sizes, types and ops with exit code 2', async () => {
    for (const args of [['-b', '12Q'], ['--dtype', 'float8'], ['--op', 'xor'], ['-b', '1M', '-e', '1K'], ['-n', '0']]) {
      const result = await joule(['bench', 'allreduce', ...args]);
      assert.equal(result.code, 2, `${args.join(' ')}: ${result.stderr}`);
      assert.match(result.stderr, /JOULE_BAD_ARGUMENT/);
    }
  });
});
