// What every benchmark script under bench/ reads from its command line, and how it runs a command.
const { spawn } = require('node:child_process');
const path = require('node:path');

/** The package root. */
const root = path.resolve(__dirname, '..');
const args = process.argv.slice(2);

/** The value after `name` on the command line, or `fallback`. */
function flag(name, fallback) {
  const i = args.indexOf(name);
  return i >= 0 && i + 1 < args.length ? args[i + 1] : fallback;
}

/** Runs a command to its end; resolves to its exit code (null when killed) and its output. */
function run(command, commandArgs, env = process.env) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, commandArgs, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

module.exports = { root, args, flag, run };
