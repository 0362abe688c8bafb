// npm run bench:train: joule train (resnet-mini on tfjs wasm, data parallel over joule's shm allreduce)
// against PyTorch DDP over gloo training the same network, same LBS, one thread per rank, in one run:
// single-rank and 2-rank samples/s, weak-scaling efficiency, communication share, and the cost of
// joule's instrumentation (power windows, checksums, per-step records) measured on and off; and the machine's
// own ceiling for weak scaling: two independent single-rank runs at once, which share cores, caches and memory
// bandwidth as two data-parallel ranks do, but never wait for each other.
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { root, flag, run } = require('../cli');

const steps = Number(flag('--steps', '60'));
const rounds = Number(flag('--rounds', '3'));
const lbs = Number(flag('--lbs', '32'));
const python = flag('--python', '/usr/bin/python3');
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'joule-bench-train-'));

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

let runCount = 0;

async function jouleRun(ranks, extra = []) {
  const dir = path.join(scratch, `run-${ranks}-${++runCount}`);
  const r = await run(process.execPath, [path.join(root, 'bin', 'joule.js'), 'train', '-n', String(ranks), '--model', 'resnet-mini', '--dataset', 'synthetic-images', '--train-size', String(lbs * ranks * (steps + 1)), '--test-size', '64', '--lbs', String(lbs), '--max-steps', String(steps), '--run-dir', dir, '--json', ...extra]);
  if (r.code !== 0) throw new Error(`joule train -n ${ranks} failed (exit ${r.code}):\n${r.stderr.slice(-2000)}`);
  const s = JSON.parse(r.stdout);
  const t = s.time;
  return { samplesPerS: s.steadySamplesPerS, commShare: t.commS / (t.computeS + t.commS + t.idleS) };
}

async function torchRun(ranks) {
  const r = await run(python, [path.join(root, 'bench', 'torch', 'ddp_resnet_mini.py'), '--ranks', String(ranks), '--steps', String(steps), '--warmup', '5', '--lbs', String(lbs)]);
  if (r.code !== 0) throw new Error(`PyTorch DDP (${python}) failed (exit ${r.code}): ${r.stderr.slice(-2000)}\nInstall Debian's python3-torch; the comparison needs it.`);
  const line = r.stdout.trim().split('\n').pop();
  return JSON.parse(line).samplesPerS;
}

async function main() {
  const load = () => os.loadavg()[0].toFixed(2);
  const loadBefore = load();
  const results = { joule1: [], joule2: [], torch1: [], torch2: [], comm2: [], bare2: [], ceiling: [] };
  for (let round = 1; round <= rounds; round++) {
    // Alternate the sides inside each round, so drifting load hits both alike.
    results.torch1.push(await torchRun(1));
    const j1 = await jouleRun(1);
    results.joule1.push(j1.samplesPerS);
    results.torch2.push(await torchRun(2));
    const j2 = await jouleRun(2);
    results.joule2.push(j2.samplesPerS);
    results.comm2.push(j2.commShare);
    results.bare2.push((await jouleRun(2, ['--no-instrument'])).samplesPerS);
    const alone = await Promise.all([jouleRun(1), jouleRun(1)]);
    results.ceiling.push((alone[0].samplesPerS + alone[1].samplesPerS) / (2 * j1.samplesPerS));
    process.stderr.write(`round ${round}/${rounds}: joule ${j1.samplesPerS.toFixed(1)} / ${j2.samplesPerS.toFixed(1)}, PyTorch ${results.torch1.at(-1).toFixed(1)} / ${results.torch2.at(-1).toFixed(1)} samples/s (1 / 2 ranks), two 1-rank runs at once ${results.ceiling.at(-1).toFixed(2)}, load ${load()}\n`);
  }
  // Ratios are taken within each round, then their median: the machine's speed drifts between rounds, and a
  // ratio of medians from different rounds would mix that drift into the comparison.
  const perRound = (f) => median(results.joule1.map((_, i) => f(Object.fromEntries(Object.entries(results).map(([k, v]) => [k, v[i]])))));
  const m = Object.fromEntries(Object.entries(results).map(([k, v]) => [k, median(v)]));
  const summary = {
    date: new Date().toISOString(),
    loadAverage: { before: Number(loadBefore), after: Number(load()) },
    steps,
    lbs,
    rounds,
    samplesPerS: { joule: { ranks1: m.joule1, ranks2: m.joule2 }, pytorchDdp: { ranks1: m.torch1, ranks2: m.torch2 } },
    ratio2Ranks: perRound((r) => r.joule2 / r.torch2),
    ratio1Rank: perRound((r) => r.joule1 / r.torch1),
    weakScaling: { joule: perRound((r) => r.joule2 / (2 * r.joule1)), pytorchDdp: perRound((r) => r.torch2 / (2 * r.torch1)), machineCeiling: m.ceiling },
    jouleCommShare2Ranks: m.comm2,
    instrumentationCost: perRound((r) => 1 - r.joule2 / r.bare2),
  };
  if (process.argv.includes('--json')) process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
  else {
    const f = (x) => x.toFixed(1);
    process.stdout.write(
      [
        `resnet-mini, LBS ${lbs}, ${steps} steps (steady samples/s and ratios within a round: medians of ${rounds} alternating rounds), load ${loadBefore} → ${load()}`,
        `              1 rank   2 ranks  weak scaling`,
        `joule (wasm)  ${f(m.joule1).padStart(6)}  ${f(m.joule2).padStart(7)}  ${summary.weakScaling.joule.toFixed(2)}`,
        `PyTorch DDP   ${f(m.torch1).padStart(6)}  ${f(m.torch2).padStart(7)}  ${summary.weakScaling.pytorchDdp.toFixed(2)}`,
        `two independent 1-rank joule runs at once: ${summary.weakScaling.machineCeiling.toFixed(2)} (the machine's ceiling for weak scaling)`,
        `joule / PyTorch: ${summary.ratio1Rank.toFixed(2)} (1 rank), ${summary.ratio2Ranks.toFixed(2)} (2 ranks)`,
        `joule communication share at 2 ranks: ${(100 * m.comm2).toFixed(1)} %; instrumentation cost: ${(100 * summary.instrumentationCost).toFixed(1)} % of samples/s`,
        '',
      ].join('\n'),
    );
  }
  fs.rmSync(scratch, { recursive: true, force: true });
}

main().catch((error) => {
  process.stderr.write(`bench:train: ${error.message}\n`);
  fs.rmSync(scratch, { recursive: true, force: true });
  process.exit(1);
});
