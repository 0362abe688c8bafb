#!/usr/bin/env node
// Hierarchical (shm inside a node, tcp between node leaders) against flat tcp: float32 avg allreduce
// through the Promise API, ranks started by `joule launch --pretend-nodes` (nodes of 2 ranks), the two
// modes alternated per size in the same run; prints the time per operation, busbw and the ratio, and
// exits 3 when any rank saw a wrong value or the hierarchy was not used. Needs `npx tsc` (dist/).
// Usage: npm run bench:hierarchical -- [--ranks 4] [--sizes 65536,1048576,16777216] [--wire bf16] [--json]
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const { root, args, flag, run } = require('../cli');
const load = () => os.loadavg().map((l) => l.toFixed(2)).join(' ');

async function rank() {
  const joule = require(path.join(root, 'dist/src/index.js'));
  const world = await joule.init();
  const size = world.size;
  const sizes = process.env.BENCH_SIZES.split(',').map(Number);
  const wire = process.env.BENCH_WIRE || 'native';
  const members = world.peers.map((p) => ({ worldRank: p.rank, nodeRank: p.nodeRank }));
  const modes = { flat: new joule.Communicator(world, 'flat', members, { backend: 'tcp' }), hierarchical: world.comm };
  const rows = [];
  for (const bytes of sizes) {
    const count = bytes / 4;
    const iterations = Math.max(10, Math.min(200, Math.round((64 << 20) / bytes)));
    const row = { bytes, iterations };
    for (const [mode, comm] of Object.entries(modes)) {
      // Equal values stay equal under avg, so the result is known exactly after the first operation.
      const buffer = new Float32Array(count).fill(world.rank + 1);
      for (let i = 0; i < 3; ++i) await comm.allreduce(buffer, { op: 'avg', wire });
      await comm.barrier();
      const start = process.hrtime.bigint();
      for (let i = 0; i < iterations; ++i) await comm.allreduce(buffer, { op: 'avg', wire });
      const seconds = Number(process.hrtime.bigint() - start) / 1e9 / iterations;
      const want = (size + 1) / 2;
      let wrong = 0;
      for (let i = 0; i < count; ++i) if (buffer[i] !== want) wrong++;
      // The slowest rank's time and every rank's wrong values.
      const slowest = new Float64Array([seconds]);
      await modes.flat.allreduce(slowest, { op: 'max' });
      const wrongs = new Float64Array([wrong]);
      await modes.flat.allreduce(wrongs);
      row[mode] = { us: slowest[0] * 1e6, busbwGBs: ((2 * (size - 1)) / size) * bytes / slowest[0] / 1e9, wrong: wrongs[0], backend: comm.backend };
    }
    rows.push(row);
  }
  modes.flat.close();
  if (world.rank === 0) process.stdout.write(`${JSON.stringify(rows)}\n`);
  await world.finalize();
}

async function main() {
  const size = Number(flag('--ranks', '4'));
  const sizes = flag('--sizes', '65536,1048576,16777216');
  const wire = flag('--wire', 'native');
  const json = args.includes('--json');
  const runDir = fs.mkdtempSync(path.join(os.tmpdir(), 'joule-bench-hier-'));
  const loadBefore = load();
  let launched;
  try {
    const launchArgs = ['launch', '-n', String(size), '--pretend-nodes', String(Math.ceil(size / 2)), '--run-dir', runDir, '--', process.execPath, __filename];
    launched = await run(process.execPath, [path.join(root, 'bin/joule.js'), ...launchArgs], { ...process.env, BENCH_CHILD: '1', BENCH_SIZES: sizes, BENCH_WIRE: wire, JOULE_POWER: 'off' });
  } finally {
    fs.rmSync(runDir, { recursive: true, force: true });
  }
  const line = launched.stdout.split('\n').find((l) => l.startsWith('[0] ['));
  if (launched.code !== 0 || !line) throw new Error(`the launched ranks failed (exit ${launched.code}):\n${launched.stderr}`);
  const output = line.slice(4);
  const rows = JSON.parse(output);
  const result = { ranks: size, nodes: Math.ceil(size / 2), op: 'avg', dtype: 'f32', wire, loadBefore, loadAfter: load(), cpus: os.cpus().length, rows };
  if (json) {
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  } else {
    console.log(`# float32 avg allreduce, ${size} ranks on ${result.nodes} pretend nodes, wire ${wire}, Promise API; load before ${loadBefore}, after ${result.loadAfter} (${result.cpus} CPUs)`);
    console.log('#     bytes  iters   flat tcp us  busbw GB/s   hierarchical us  busbw GB/s   flat/hier  #wrong');
    for (const r of rows) {
      console.log(
        `${String(r.bytes).padStart(11)} ${String(r.iterations).padStart(6)} ${r.flat.us.toFixed(1).padStart(13)} ${r.flat.busbwGBs.toFixed(3).padStart(11)} ` +
          `${r.hierarchical.us.toFixed(1).padStart(17)} ${r.hierarchical.busbwGBs.toFixed(3).padStart(11)} ${(r.flat.us / r.hierarchical.us).toFixed(2).padStart(11)} ${String(r.flat.wrong + r.hierarchical.wrong).padStart(7)}`,
      );
    }
  }
  if (rows.some((r) => r.flat.wrong + r.hierarchical.wrong > 0 || r.hierarchical.backend !== 'hierarchical')) process.exitCode = 3;
}

(process.env.BENCH_CHILD ? rank() : main()).catch((error) => {
  console.error(error);
  process.exit(1);
});
