#!/usr/bin/env node
// Start-up cost: `joule launch -n 2` of init/barrier/finalize against `mpirun -np 2` of MPI_Init/
// MPI_Barrier/MPI_Finalize, alternated in the same run; prints wall times and their ratio (goal <= 1.0).
// Usage: npm run bench:startup -- [--reps 10] [--ranks 2] [--json]
const { execFileSync, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const root = path.resolve(__dirname, '..', '..');
const args = process.argv.slice(2);
const flag = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 && i + 1 < args.length ? args[i + 1] : fallback;
};
const reps = Number(flag('--reps', '10'));
const ranks = flag('--ranks', '2');
const json = args.includes('--json');
const load = () => os.loadavg().map((l) => l.toFixed(2)).join(' ');

function wall(command, commandArgs, env) {
  const start = process.hrtime.bigint();
  const result = spawnSync(command, commandArgs, { env, encoding: 'utf8' });
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  if (result.status !== 0) {
    throw new Error(`${command} ${commandArgs.join(' ')} exited ${result.status}: ${(result.stderr || result.error?.message || '').trim().split('\n').slice(-3).join(' ')}`);
  }
  return seconds;
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

function main() {
  if (spawnSync('sh', ['-c', 'command -v mpicc && command -v mpirun']).status !== 0) {
    console.error('bench:startup needs Open MPI (Debian: apt-get install openmpi-bin libopenmpi-dev)');
    process.exit(1);
  }
  const binary = path.join(root, 'build', 'bench', 'mpi_init_barrier');
  fs.mkdirSync(path.dirname(binary), { recursive: true });
  execFileSync('mpicc', ['-O2', '-o', binary, path.join(__dirname, 'mpi_init_barrier.c')], { stdio: 'inherit' });
  const runRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'joule-bench-startup-'));
  const mpiEnv = { ...process.env, OMPI_ALLOW_RUN_AS_ROOT: '1', OMPI_ALLOW_RUN_AS_ROOT_CONFIRM: '1' };
  const joule = [path.join(root, 'bin', 'joule.js'), 'launch', '-n', ranks, '--launcher', 'local'];
  const probe = path.join(__dirname, 'joule_init_barrier.js');
  const loadBefore = load();
  // One warm-up of each (page cache, Open MPI's component scan), then alternate so load drifts hit both.
  wall('mpirun', ['-np', ranks, binary], mpiEnv);
  wall(process.execPath, [...joule, '--run-dir', path.join(runRoot, 'warmup'), '--', process.execPath, probe], process.env);
  const times = { joule: [], mpi: [], nodeBaseline: [] };
  for (let i = 0; i < reps; i++) {
    times.mpi.push(wall('mpirun', ['-np', ranks, binary], mpiEnv));
    times.joule.push(wall(process.execPath, [...joule, '--run-dir', path.join(runRoot, `r${i}`), '--', process.execPath, probe], process.env));
    times.nodeBaseline.push(wall(process.execPath, ['-e', '0'], process.env));
  }
  fs.rmSync(runRoot, { recursive: true, force: true });
  const summary = {
    ranks: Number(ranks),
    reps,
    medianS: { joule: median(times.joule), mpi: median(times.mpi), nodeBaseline: median(times.nodeBaseline) },
    ratio: median(times.joule) / median(times.mpi),
    loadBefore,
    loadAfter: load(),
    cpus: os.cpus().length,
    times,
  };
  if (json) {
    console.log(JSON.stringify(summary, null, 2));
    return;
  }
  const fmt = (s) => s.toFixed(3);
  console.log(`start-up, ${ranks} ranks, ${reps} repetitions each (median wall time, s)`);
  console.log(`  joule launch (init, barrier, finalize)   ${fmt(summary.medianS.joule)}   [${times.joule.map(fmt).join(' ')}]`);
  console.log(`  mpirun (MPI_Init, MPI_Barrier, Finalize) ${fmt(summary.medianS.mpi)}   [${times.mpi.map(fmt).join(' ')}]`);
  console.log(`  node -e 0 (baseline)                     ${fmt(summary.medianS.nodeBaseline)}`);
  console.log(`  ratio joule / mpirun: ${summary.ratio.toFixed(2)} (goal <= 1.0)`);
  console.log(`  load average before: ${loadBefore}; after: ${summary.loadAfter}; ${summary.cpus} CPUs`);
}

main();
