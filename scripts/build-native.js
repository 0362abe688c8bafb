#!/usr/bin/env node
// Builds the native addon: cmake-js when CMake >= 3.18 is present (addon, CUDA kernels, test fakes),
// else node-gyp (the CPU-only addon). Extra arguments go to cmake-js, e.g. `-- -DJOULE_CUDA=OFF`.
'use strict';
const { spawnSync } = require('node:child_process');
const path = require('node:path');

const root = path.resolve(__dirname, '..');

function cmakeVersion() {
  const probe = spawnSync('cmake', ['--version'], { encoding: 'utf8' });
  const match = probe.status === 0 && /cmake version (\d+)\.(\d+)/.exec(probe.stdout);
  return match ? [Number(match[1]), Number(match[2])] : null;
}

function run(command, args) {
  const result = spawnSync(command, args, { cwd: root, stdio: 'inherit' });
  if (result.error) throw result.error;
  return result.status ?? 1;
}

const version = cmakeVersion();
const cmakeArgs = process.argv.slice(2).map((arg) => (arg.startsWith('-D') ? `--CD${arg.slice(2)}` : arg));
let status;
if (version && (version[0] > 3 || (version[0] === 3 && version[1] >= 18))) {
  status = run(process.execPath, [require.resolve('cmake-js/bin/cmake-js'), 'compile', ...cmakeArgs]);
} else {
  console.warn(`joule: CMake >= 3.18 not found${version ? ` (found ${version.join('.')})` : ''}; ` +
    'building the CPU-only addon with node-gyp (no CUDA kernels, no test fakes)');
  status = run('node-gyp', ['rebuild', '--nodedir=' + path.dirname(path.dirname(process.execPath))]);
}
process.exit(status);
