#!/usr/bin/env node
// Start-up cost: `joule launch -n 2` of init/barrier/finalize against `mpirun -np 2` of MPI_Init/
// MPI_Barrier/MPI_Finalize, alternated in the same run; prints wall times and their ratio (goal <= 1.0).
// Usage: npm run bench:startup -- [--reps 10] [--ranks 2] [--json]
const { execFileSync, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const { root, args, flag } = require('../cli');
const reps = Number(flag('--reps', '10'));
const ranks = flag('--ranks', '2');
const json = args.includes('--json');
const load = () => os.loadavg().map((l) => l.toFixed(2)).join(' ');

// Runs the command under bash so `times` can report the CPU its whole process tree used (user + sys),
// a figure that, unlike wall time, hardly moves with the machine's load.
function measure(command, commandArgs, env) {
  const script = '"$@" >/dev/null 2>"$JOULE_BENCH_ERR"; rc=$?; times; exit $rc';
  const errFile = path.join(os.tmpdir(), `joule-bench-startup-${process.pid}.err`);
  const start = process.hrtime.bigint();
  const result = spawnSync('bash', ['-c', script, 'bash', command, ...commandArgs], { env: { ...env, JOULE_BENCH_ERR: errFile }, encoding: 'utf8' });
  const wallS = Number(process.hrtime.bigint() - start) / 1e9;
  if (result.status !== 0) {
    const err = fs.existsSync(errFile) ? fs.readFileSync(errFile, 'utf8') : result.stderr;
    throw new Error(`${command} ${commandArgs.join(' ')} exited ${result.status}: ${err.trim().split('\n').slice(-3).join(' ')}`);
  }
  // `times` prints the shell's own user/sys, then its children's: "0m0.312s 0m0.081s".
  const children = result.stdout.trim().split('\n').at(-1).match(/(\d+)m([\d.]+)s\s+(\d+)m([\d.]+)s/);
  const cpuS = children ? Number(children[1]) * 60 + Number(children[2]) + Number(children[3]) * 60 + Number(children[4]) : NaN;
  return { wallS, cpuS };
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** CPU ms (user + sys) a fresh node spends requiring `module` (and, with `call`, running it). */
function requireCpuMs(module, call = '') {
  const script = `const c = process.cpuUsage(); const m = require(${JSON.stringify(module)}); ${call}; const d = process.cpuUsage(c); console.log((d.user + d.system) / 1000)`;
  return Number(execFileSync(process.execPath, ['-e', script], { encoding: 'utf8' }).trim());
}

/** Where a launch's time goes: the launcher's and each rank's phases (from marks in real launches) and module loading (fresh processes). */
function phases(joule, probe, runRoot, reps) {
  const rankPhases = [];
  const launcherPhases = [];
  const launcherMarks = path.join(runRoot, 'launcher-marks.json');
  for (let i = 0; i < reps; i++) {
    const result = spawnSync(process.execPath, ['--require', path.join(__dirname, 'launcher_marks.js'), ...joule, '--run-dir', path.join(runRoot, `b${i}`), '--', process.execPath, probe], {
      env: { ...process.env, BENCH_MARKS: '1', BENCH_LAUNCHER_MARKS: launcherMarks },
      encoding: 'utf8',
    });
    for (const line of result.stdout.split('\n')) {
      const match = /^\[\d+\] (\{.*\})$/.exec(line);
      if (match) rankPhases.push(JSON.parse(match[1]));
    }
    launcherPhases.push(JSON.parse(fs.readFileSync(launcherMarks, 'utf8')));
  }
  if (rankPhases.length === 0) throw new Error('the breakdown launches printed no phase marks');
  const med = (f) => median(rankPhases.map(f)).toFixed(0);
  const launcherMed = (f) => median(launcherPhases.map(f)).toFixed(0);
  const span = (from, to) => `${launcherMed((m) => m[to].ms - m[from].ms)} [${launcherMed((m) => m[to].cpuMs - m[from].cpuMs)}]`;
  const loads = (n, f) => median(Array.from({ length: n }, f)).toFixed(0);
  const dist = path.join(root, 'dist');
  return {
    'launcher: node start until the CLI runs': `${launcherMed((m) => m.boot.ms)} [${launcherMed((m) => m.boot.cpuMs)}]`,
    'launcher: CLI, run directory and reserved port until the ranks are started': span('boot', 'spawned'),
    '  of which require the CLI and the launch command (commander)': `[${loads(reps, () => requireCpuMs(path.join(dist, 'src/cli/main.js'), `require(${JSON.stringify(path.join(dist, 'src/cli/commands/index.js'))}).commandsFor(['launch'])`))}]`,
    '  of which require launch/launcher': `[${loads(reps, () => requireCpuMs(path.join(dist, 'launch/launcher.js')))}]`,
    'launcher: while the ranks run (coordinator and journal start, joins, records, node power sampler)': span('spawned', 'ranksExited'),
    'launcher: after the ranks exit (run record, energy summary)': span('ranksExited', 'end'),
    'rank: node start until the script runs': `${med((m) => m.bootMs)} [${med((m) => m.bootCpuMs)}]`,
    'rank: require("joule")': `${med((m) => m.require.ms - m.bootMs)} [${med((m) => m.require.cpuMs - m.bootCpuMs)}]`,
    'rank: joule.init() (bind, addon, zeromq, join, power monitor start)': `${med((m) => m.init.ms - m.require.ms)} [${med((m) => m.init.cpuMs - m.require.cpuMs)}]`,
    '  of which load zeromq': `[${loads(reps, () => requireCpuMs('zeromq'))}]`,
    '  of which load the addon': `[${loads(reps, () => requireCpuMs(path.join(dist, 'src/native.js'), 'm.native()'))}]`,
    'rank: barrier': `${med((m) => m.barrier.ms - m.init.ms)} [${med((m) => m.barrier.cpuMs - m.init.cpuMs)}]`,
    'rank: finalize (power monitor last sample, goodbye)': `${med((m) => m.finalize.ms - m.barrier.ms)} [${med((m) => m.finalize.cpuMs - m.barrier.cpuMs)}]`,
  };
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
  measure('mpirun', ['-np', ranks, binary], mpiEnv);
  measure(process.execPath, [...joule, '--run-dir', path.join(runRoot, 'warmup'), '--', process.execPath, probe], process.env);
  // Node.js reads NODE_EXTRA_CA_CERTS's bundle at every start: where it is set, say what that costs each process.
  const extraCa = Boolean(process.env.NODE_EXTRA_CA_CERTS);
  const runs = { joule: [], mpi: [], nodeBaseline: [], ...(extraCa ? { nodeWithoutExtraCa: [] } : {}) };
  for (let i = 0; i < reps; i++) {
    runs.mpi.push(measure('mpirun', ['-np', ranks, binary], mpiEnv));
    runs.joule.push(measure(process.execPath, [...joule, '--run-dir', path.join(runRoot, `r${i}`), '--', process.execPath, probe], process.env));
    runs.nodeBaseline.push(measure(process.execPath, ['-e', '0'], process.env));
    if (extraCa) runs.nodeWithoutExtraCa.push(measure(process.execPath, ['-e', '0'], { ...process.env, NODE_EXTRA_CA_CERTS: '' }));
  }
  const breakdown = phases(joule, probe, runRoot, reps);
  fs.rmSync(runRoot, { recursive: true, force: true });
  const times = Object.fromEntries(Object.entries(runs).map(([k, v]) => [k, v.map((r) => r.wallS)]));
  const cpu = Object.fromEntries(Object.entries(runs).map(([k, v]) => [k, median(v.map((r) => r.cpuS))]));
  const summary = {
    ranks: Number(ranks),
    reps,
    medianS: Object.fromEntries(Object.entries(times).map(([k, v]) => [k, median(v)])),
    ratio: median(times.joule) / median(times.mpi),
    medianCpuS: cpu,
    cpuRatio: cpu.joule / cpu.mpi,
    loadBefore,
    loadAfter: load(),
    cpus: os.cpus().length,
    times,
    breakdown,
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
  console.log(`  CPU time (user+sys of all processes, median): joule ${fmt(cpu.joule)}, mpirun ${fmt(cpu.mpi)}, node -e 0 ${fmt(cpu.nodeBaseline)}; ratio ${summary.cpuRatio.toFixed(2)}`);
  if (extraCa) console.log(`  NODE_EXTRA_CA_CERTS is set: node -e 0 without it ${fmt(summary.medianS.nodeWithoutExtraCa)} s, ${fmt(cpu.nodeWithoutExtraCa)} s CPU (joule starts three Node.js processes)`);
  console.log(`  load average before: ${loadBefore}; after: ${summary.loadAfter}; ${summary.cpus} CPUs`);
  console.log(`where joule's time goes (median over ${reps} more launches; ms of wall time, CPU ms in brackets)`);
  const width = Math.max(...Object.keys(breakdown).map((name) => name.length));
  for (const [name, value] of Object.entries(breakdown)) console.log(`  ${name.padEnd(width)}  ${value}`);
}

main();
