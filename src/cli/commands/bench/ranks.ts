// Where a benchmark's ranks come from: the rank runtime inside `joule launch` or bare srun (with its
// power windows for the energy columns), the local rendezvous its own `-N` launcher set up, or (with -N)
// starting that many copies of this command on this node and waiting for them.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { BenchContext } from '../../../bench/collective';
import { Communicator } from '../../../comm/communicator';
import { localWorld } from '../../../comm/local-world';
import { bindRank } from '../../../world/cpu';
import { init } from '../../../world/init';
import type { BackendName } from '../../../comm/types';
import { JouleError } from '../../../errors';

const env = process.env;

async function runRank(dir: string, rank: number, size: number, backend: BackendName, body: (ctx: BenchContext) => Promise<number>): Promise<number> {
  // Each rank on its own CPUs, as under joule launch (and as mpirun binds the ranks it compares with).
  bindRank(rank, size);
  const world = localWorld(dir, rank, size);
  const members = Array.from({ length: size }, (_, r) => ({ worldRank: r, nodeRank: 0 }));
  const comm = new Communicator(world, 'world', members, { backend });
  try {
    return await body({ comm });
  } finally {
    comm.close();
    world.stop();
  }
}

async function runLaunched(backend: BackendName, body: (ctx: BenchContext) => Promise<number>): Promise<number> {
  if (backend !== 'auto') process.env.JOULE_COMM_BACKEND = backend;
  const world = await init();
  let power: BenchContext['power'];
  try {
    power = world.power;
  } catch {
    // JOULE_POWER=off: the energy columns say n/a; the bandwidth figures stand on their own.
    power = undefined;
  }
  const code = await body({ comm: world.comm, power });
  await world.finalize();
  return code;
}

/** Runs `body` on every rank; resolves to the exit code of the whole benchmark. */
export async function benchRanks(nranks: number, backend: BackendName, body: (ctx: BenchContext) => Promise<number>): Promise<number> {
  if (env.JOULE_LAUNCHER) {
    if (nranks > 0) throw new JouleError('JOULE_BAD_ARGUMENT', '-N starts local ranks; inside `joule launch` the launcher decides how many');
    return runLaunched(backend, body);
  }
  if (env.JOULE_BENCH_DIR) return runRank(env.JOULE_BENCH_DIR, Number(env.JOULE_BENCH_RANK), Number(env.JOULE_BENCH_SIZE), backend, body);
  // Started by bare srun like nccl-tests (`srun -n 8 joule bench allreduce`): srun's tasks are the ranks.
  if (nranks === 0 && env.SLURM_PROCID !== undefined && env.SLURM_NTASKS !== undefined) return runLaunched(backend, body);
  const size = Math.max(1, nranks);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'joule-bench-'));
  try {
    if (size === 1) return await runRank(dir, 0, 1, backend, body);
    const children = Array.from({ length: size }, (_, rank) =>
      spawn(process.execPath, process.argv.slice(1), {
        env: { ...env, JOULE_BENCH_DIR: dir, JOULE_BENCH_RANK: String(rank), JOULE_BENCH_SIZE: String(size) },
        // Rank 0 prints the table; every rank's errors reach the terminal.
        stdio: ['ignore', rank === 0 ? 'inherit' : 'ignore', 'inherit'],
      }),
    );
    const codes = await Promise.all(
      children.map(
        (child, rank) =>
          new Promise<number>((resolve) => {
            child.on('close', (code, signal) => {
              const status = code ?? 1;
              // A rank that failed ends the others' collectives at once (they watch this file).
              if (status !== 0 && status !== 3 && !fs.existsSync(path.join(dir, 'abort'))) {
                fs.writeFileSync(path.join(dir, 'abort'), `rank ${rank} ${signal ? `was killed by ${signal}` : `exited with code ${status}`}`, { mode: 0o600 });
              }
              resolve(status);
            });
          }),
      ),
    );
    return codes.find((c) => c !== 0 && c !== 3) ?? codes.find((c) => c === 3) ?? 0;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
