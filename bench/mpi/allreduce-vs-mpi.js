#!/usr/bin/env node
// Runs `joule bench allreduce` and the same sweep with Open MPI's MPI_Allreduce back to back, over
// shared memory and over TCP loopback, and prints busbw side by side with the ratio per size. The two
// alternate for --rounds rounds and each size reports the median of its rounds, so a burst of load on
// this small machine moves one round, not the comparison.
// Usage: npm run bench:allreduce-vs-mpi -- [-b 8] [-e 128M] [-f 4] [-n 20] [-w 5] [--ranks 2]
//        [--rounds 3] [--transport shm|tcp|both] [--json]
const { execFileSync, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const { root, args, flag } = require('../cli');
const sweep = ['-b', flag('-b', '8'), '-e', flag('-e', '128M'), '-f', flag('-f', '4'), '-n', flag('-n', '20'), '-w', flag('-w', '5')];
const ranks = flag('--ranks', '2');
const json = args.includes('--json');
const rounds = Number(flag('--rounds', '3'));
const transport = flag('--transport', 'both');
if (!Number.isInteger(rounds) || rounds < 1) throw new Error(`--rounds must be a positive integer, got ${flag('--rounds')}`);
if (!['shm', 'tcp', 'both'].includes(transport)) throw new Error(`--transport must be shm, tcp or both, got ${transport}`);
const load = () => os.loadavg().map((l) => l.toFixed(2)).join(' ');

function which(command) {
  return spawnSync('sh', ['-c', `command -v ${command}`]).status === 0;
}

function buildMpi() {
  if (!which('mpicc') || !which('mpirun')) return { error: 'mpicc/mpirun not found (Debian: apt-get install openmpi-bin libopenmpi-dev)' };
  const out = path.join(root, 'build', 'bench', 'mpi_allreduce_sweep');
  fs.mkdirSync(path.dirname(out), { recursive: true });
  execFileSync('mpicc', ['-O3', '-o', out, path.join(root, 'bench', 'mpi', 'allreduce_sweep.c')], { stdio: 'inherit' });
  return { binary: out };
}

function runMpi(binary, transport) {
  const btl = transport === 'shm' ? 'self,vader' : 'tcp,self';
  const env = { ...process.env, OMPI_ALLOW_RUN_AS_ROOT: '1', OMPI_ALLOW_RUN_AS_ROOT_CONFIRM: '1', OMPI_MCA_btl_tcp_if_include: 'lo' };
  const result = spawnSync('mpirun', ['-np', ranks, '--mca', 'btl', btl, '--mca', 'pml', 'ob1', binary, ...sweep], { env, encoding: 'utf8' });
  if (result.status !== 0) return { error: `mpirun failed (${result.status}): ${result.stderr.trim().split('\n').slice(-3).join(' ')}` };
  return { rows: result.stdout.trim().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l)) };
}

function runJoule(transport) {
  const result = spawnSync(process.execPath, [path.join(root, 'bin', 'joule.js'), 'bench', 'allreduce', '-N', ranks, '--backend', transport, ...sweep, '--json'], { encoding: 'utf8' });
  if (result.status !== 0) return { error: `joule bench failed (${result.status}): ${result.stderr.trim().split('\n').slice(-2).join(' ')}` };
  return { rows: JSON.parse(result.stdout).rows.map((r) => ({ bytes: r.bytes, timeUs: r.outOfPlace.timeUs, busbwGBs: r.outOfPlace.busbwGBs, wrong: r.outOfPlace.wrong + r.inPlace.wrong })) };
}

// Per size, the round whose time is the median (rows of failed rounds are left out).
function medianRows(runs) {
  const ok = runs.filter((r) => r.rows);
  if (ok.length === 0) return { error: runs[0].error };
  const sizes = [...new Set(ok.flatMap((r) => r.rows.map((row) => row.bytes)))];
  const rows = sizes.map((bytes) => {
    const seen = ok.map((r) => r.rows.find((row) => row.bytes === bytes)).filter(Boolean).sort((a, b) => a.timeUs - b.timeUs);
    const middle = seen[(seen.length - 1) >> 1];
    return { ...middle, wrong: seen.reduce((sum, row) => sum + row.wrong, 0) };
  });
  return { rows, error: ok.length < runs.length ? `${runs.length - ok.length} of ${runs.length} rounds failed: ${runs.find((r) => r.error).error}` : undefined };
}

const report = { ranks: Number(ranks), sweep: sweep.join(' '), rounds, loadBefore: load(), transports: {} };
const mpi = buildMpi();
for (const name of transport === 'both' ? ['shm', 'tcp'] : [transport]) {
  const jouleRuns = [];
  const mpiRuns = [];
  for (let round = 0; round < rounds; ++round) {
    if (!json) process.stderr.write(`# ${name}: round ${round + 1} of ${rounds}\n`);
    jouleRuns.push(runJoule(name));
    mpiRuns.push(mpi.binary ? runMpi(mpi.binary, name) : { error: mpi.error });
  }
  const joule = medianRows(jouleRuns);
  const other = medianRows(mpiRuns);
  const rows = (joule.rows ?? other.rows ?? []).map((row) => {
    const m = other.rows?.find((r) => r.bytes === row.bytes);
    const j = joule.rows?.find((r) => r.bytes === row.bytes);
    return {
      bytes: row.bytes,
      jouleTimeUs: j?.timeUs ?? null,
      jouleBusbwGBs: j?.busbwGBs ?? null,
      mpiTimeUs: m?.timeUs ?? null,
      mpiBusbwGBs: m?.busbwGBs ?? null,
      ratio: j && m && m.busbwGBs > 0 ? j.busbwGBs / m.busbwGBs : null,
      wrong: (j?.wrong ?? 0) + (m?.wrong ?? 0),
    };
  });
  report.transports[name] = { joule: joule.error ?? 'ok', mpi: other.error ?? 'ok', rows };
}
report.loadAfter = load();

if (json) {
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
} else {
  const fmt = (v, d) => (v === null ? 'n/a' : v.toFixed(d));
  process.stdout.write(`# allreduce float32 sum, ${ranks} ranks, ${report.sweep}, median of ${rounds} alternating rounds; load average before: ${report.loadBefore}\n`);
  for (const [transport, t] of Object.entries(report.transports)) {
    process.stdout.write(`\n## ${transport}  (joule: ${t.joule}; Open MPI btl ${transport === 'shm' ? 'self,vader' : 'tcp,self'}: ${t.mpi})\n`);
    process.stdout.write(`${'bytes'.padStart(12)} ${'joule us'.padStart(10)} ${'MPI us'.padStart(10)} ${'joule busbw'.padStart(12)} ${'MPI busbw'.padStart(10)} ${'ratio'.padStart(7)}\n`);
    for (const r of t.rows) {
      process.stdout.write(`${String(r.bytes).padStart(12)} ${fmt(r.jouleTimeUs, 2).padStart(10)} ${fmt(r.mpiTimeUs, 2).padStart(10)} ${fmt(r.jouleBusbwGBs, 3).padStart(12)} ${fmt(r.mpiBusbwGBs, 3).padStart(10)} ${fmt(r.ratio, 2).padStart(7)}${r.wrong ? '  WRONG' : ''}\n`);
    }
  }
  process.stdout.write(`\n# load average after: ${report.loadAfter}\n`);
}
// Wrong results fail the benchmark (3); so does a comparison that could not be made (1): no Open MPI, or a side that failed.
const transports = Object.values(report.transports);
if (transports.some((t) => t.rows.some((r) => r.wrong))) process.exitCode = 3;
else if (transports.some((t) => t.joule !== 'ok' || t.mpi !== 'ok')) {
  process.stderr.write(`# no comparison: ${transports.map((t) => `joule ${t.joule}, Open MPI ${t.mpi}`).join('; ')}\n`);
  process.exitCode = 1;
}
