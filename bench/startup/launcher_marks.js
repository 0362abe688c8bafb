// Preloaded into the launcher by `npm run bench:startup` (node --require): notes when it started its ranks, when
// they exited and when it ended (ms since the process started, and CPU ms), into the file BENCH_LAUNCHER_MARKS names.
const childProcess = require('node:child_process');
const fs = require('node:fs');

const marks = {};
const mark = (name) => {
  const cpu = process.cpuUsage();
  marks[name] = { ms: performance.now(), cpuMs: (cpu.user + cpu.system) / 1000 };
};
mark('boot');
const spawn = childProcess.spawn;
childProcess.spawn = function (...args) {
  const child = spawn.apply(this, args);
  mark('spawned');
  child.once('exit', () => mark('ranksExited'));
  return child;
};
process.once('exit', () => {
  mark('end');
  fs.writeFileSync(process.env.BENCH_LAUNCHER_MARKS, JSON.stringify(marks));
});
