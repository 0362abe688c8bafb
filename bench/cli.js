// What every benchmark script under bench/ (and scripts/bench-*.js) reads from its command line.
const path = require('node:path');

/** The package root. */
const root = path.resolve(__dirname, '..');
const args = process.argv.slice(2);

/** The value after `name` on the command line, or `fallback`. */
function flag(name, fallback) {
  const i = args.indexOf(name);
  return i >= 0 && i + 1 < args.length ? args[i + 1] : fallback;
}

module.exports = { root, args, flag };
