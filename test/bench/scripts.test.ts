// Benchmark scripts fail when their comparison point is missing, instead of printing half a comparison.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { packageRoot } from '../../src/paths';
import { run } from '../helpers/run';

describe('benchmark scripts', function () {
  this.timeout(60_000);
  let bin = '';
  // A PATH with node and a shell but without Open MPI.
  before(() => {
    bin = fs.mkdtempSync(path.join(os.tmpdir(), 'joule-nompi-'));
    fs.symlinkSync(process.execPath, path.join(bin, 'node'));
    for (const shell of ['sh', 'bash']) fs.symlinkSync(`/bin/${shell}`, path.join(bin, shell));
  });
  after(() => fs.rmSync(bin, { recursive: true, force: true }));

  it('bench:allreduce-vs-mpi exits 1 naming the missing Open MPI', async () => {
    const result = await run(process.execPath, [path.join(packageRoot, 'bench', 'mpi', 'allreduce-vs-mpi.js'), '-b', '8', '-e', '8', '-n', '2', '-w', '0', '--rounds', '1', '--transport', 'shm'], {
      env: { ...process.env, PATH: bin },
    });
    assert.equal(result.code, 1, result.stdout + result.stderr);
    assert.match(result.stderr, /no comparison: joule ok, Open MPI mpicc\/mpirun not found/);
  });

  it('bench:startup exits 1 without Open MPI', async () => {
    const result = await run(process.execPath, [path.join(packageRoot, 'bench', 'startup', 'run.js'), '--reps', '1'], { env: { ...process.env, PATH: bin } });
    assert.equal(result.code, 1);
    assert.match(result.stderr, /needs Open MPI/);
  });
});
