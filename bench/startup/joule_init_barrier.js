// Start-up probe for `npm run bench:startup`: the joule counterpart of mpi_init_barrier.c. With
// BENCH_MARKS=1 it prints when each phase ended (ms since the process started, and CPU ms), for the breakdown.
const bootMs = performance.now();
const bootCpu = process.cpuUsage();
const joule = require('../../dist/src/index.js');

const marks = { bootMs, bootCpuMs: (bootCpu.user + bootCpu.system) / 1000 };
const mark = (name) => {
  const cpu = process.cpuUsage();
  marks[name] = { ms: performance.now(), cpuMs: (cpu.user + cpu.system) / 1000 };
};

(async () => {
  mark('require');
  const world = await joule.init();
  mark('init');
  await world.barrier();
  mark('barrier');
  await world.finalize();
  mark('finalize');
  if (process.env.BENCH_MARKS) console.log(JSON.stringify(marks));
})();
