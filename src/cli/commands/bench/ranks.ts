// Where a benchmark's ranks come from: the rank runtime inside `joule launch` or bare srun (with its power
// windows for the energy columns), or (with -N) the launcher started here on this command itself.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { BenchContext } from '../../../../bench/collectives';
import type { BackendName } from '../../../comm/types';
import { readEnv } from '../../../env';
import { JouleError } from '../../../errors';
import { runningAsRank } from '../../../world/identity';
import { init } from '../../../world/init';

export interface BenchRanksOptions {
  /** -N: ranks to start here (0: this process is a rank already, or the only one). */
  nranks: number;
  /** --pretend-nodes: the launcher's node ids, as if the -N ranks sat on this many nodes. */
  pretendNodes?: number;
  /** --oversubscribe: more than the launcher's ranks-per-CPU limit. */
  oversubscribe?: boolean;
  backend: BackendName;
}

async function runRank(backend: BackendName, body: (ctx: BenchContext) => Promise<number>): Promise<number> {
  if (backend !== 'auto') process.env.JOULE_COMM_BACKEND = backend;
  const world = await init();
  // JOULE_POWER=off attaches no monitor (world.power then measures nothing): the energy columns say so.
  const power = world.modules.has('power') ? world.power : undefined;
  const code = await body({ comm: world.comm, power });
  await world.finalize();
  return code;
}

/** Starts `nranks` copies of this command through the launcher; rank 0's output is the benchmark's. */
async function launchRanks(options: BenchRanksOptions): Promise<number> {
  const { launch, launchDefaults } = await import('../../../../launch/launcher');
  const { loadProfile } = await import('../../../slurm/profile');
  // The run record lives as long as the benchmark: the table (or JSON) is the result.
  const runDir = fs.mkdtempSync(path.join(os.tmpdir(), 'joule-bench-'));
  try {
    const result = await launch({
      command: [process.execPath, ...process.execArgv, ...process.argv.slice(1)],
      size: options.nranks,
      runDir,
      profile: loadProfile('local'),
      launcher: 'local',
      secure: false,
      ...launchDefaults,
      pretendNodes: options.pretendNodes,
      oversubscribe: options.oversubscribe,
      // Rank 0 prints the table; every rank's errors reach the terminal.
      out: (text) => {
        for (const line of text.split('\n')) if (line.startsWith('[0] ')) process.stdout.write(`${line.slice(4)}\n`);
      },
      err: (text) => process.stderr.write(text),
    });
    return result.exitCode;
  } finally {
    fs.rmSync(runDir, { recursive: true, force: true });
  }
}

/** Runs `body` on every rank; resolves to the exit code of the whole benchmark. */
export async function benchRanks(options: BenchRanksOptions, body: (ctx: BenchContext) => Promise<number>): Promise<number> {
  const env = process.env;
  if (runningAsRank(env)) {
    // -N is the launcher's rank count when it started this command itself; any other count is a mistake.
    const size = readEnv('JOULE_SIZE', env) ?? Number(env.SLURM_NTASKS);
    if (options.nranks > 0 && options.nranks !== size) throw new JouleError('JOULE_BAD_ARGUMENT', `-N ${options.nranks}: this job already has ${size} ranks (the launcher or srun decides how many)`);
    return runRank(options.backend, body);
  }
  if (options.pretendNodes !== undefined && options.nranks < 2) throw new JouleError('JOULE_BAD_ARGUMENT', '--pretend-nodes needs -N ranks to place');
  if (options.nranks <= 1) return runRank(options.backend, body);
  return launchRanks(options);
}
