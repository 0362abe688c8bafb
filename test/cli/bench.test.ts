// `joule bench <collective>`: nccl-tests columns and factors, result checks, JSON rows, bad input.
import assert from 'node:assert/strict';
import { joule, jouleBin } from '../helpers/run';

interface Row {
  bytes: number;
  count: number;
  op: string;
  outOfPlace: { timeUs: number; algbwGBs: number; busbwGBs: number; wrong: number };
  inPlace: { timeUs: number; algbwGBs: number; busbwGBs: number; wrong: number };
  energyPerOpJ: number | null;
  energySource: string;
}

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
      const result = await joule(['bench', collective, '-N', String(ranks), '-b', '8', '-e', '96K', '-f', '16', '-n', '3', '-w', '1', '--dtype', 'bfloat16', '--json']);
      assert.equal(result.code, 0, result.stderr);
      const report = JSON.parse(result.stdout) as { ranks: number; rows: Row[]; wrong: number; backend: string };
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
        // No power module in this run: energy is absent, never made up.
        assert.equal(row.energyPerOpJ, null);
        assert.match(row.energySource, /no power module/);
      }
    });
  }

  it('prints the nccl-tests table with n/a energy columns', async () => {
    const result = await joule(['bench', 'allreduce', '-N', '2', '-b', '1K', '-e', '4K', '-f', '4', '-n', '2', '-w', '0', '--op', 'max']);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /out-of-place +in-place +energy/);
    assert.match(result.stdout, /#wrong.*#wrong.*J\/op.*GB\/J/);
    assert.match(result.stdout, /^ +1024 +256 +f32 +max +-1 .* 0 +n\/a +n\/a$/m);
    assert.match(result.stdout, /# Out of bounds values : 0 OK/);
  });

  it('runs inside joule launch, with the power module attached (energy stays n/a without a measured source)', async () => {
    const result = await joule(['launch', '-n', '2', '--', process.execPath, jouleBin, 'bench', 'allreduce', '-b', '1K', '-e', '64K', '-f', '64', '-n', '2', '-w', '1', '--json']);
    assert.equal(result.code, 0, result.stderr);
    const json = result.stdout
      .split('\n')
      .filter((l) => l.startsWith('[0] '))
      .map((l) => l.slice(4))
      .join('\n');
    const report = JSON.parse(json) as { ranks: number; rows: Row[]; wrong: number };
    assert.equal(report.ranks, 2);
    assert.equal(report.wrong, 0);
    assert.deepEqual(report.rows.map((r) => r.bytes), [1024, 65536]);
    for (const row of report.rows) {
      // This machine has no RAPL and no GPU: the power module has only its model, which is never shown as J/op.
      assert.equal(row.energyPerOpJ, null);
      assert.match(row.energySource, /model only|no power module/);
    }
  });

  it('rejects bad sizes, types and ops with exit code 2', async () => {
    for (const args of [['-b', '12Q'], ['--dtype', 'float8'], ['--op', 'xor'], ['-b', '1M', '-e', '1K'], ['-n', '0']]) {
      const result = await joule(['bench', 'allreduce', ...args]);
      assert.equal(result.code, 2, `${args.join(' ')}: ${result.stderr}`);
      assert.match(result.stderr, /JOULE_BAD_ARGUMENT/);
    }
  });
});
