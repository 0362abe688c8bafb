#!/usr/bin/env bash
# Builds the addon the two other ways a user may, each in a scratch copy, and checks what `joule info`
# says: node-gyp (the CPU-only addon) and cmake-js with no nvcc on PATH (CUDA target skipped, with why).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

copy_sources() {
  mkdir -p "$1/test"
  cp -r "$root/package.json" "$root/CMakeLists.txt" "$root/binding.gyp" "$root/native" "$root/scripts" "$1/"
  cp -r "$root/test/fakes" "$root/test/native" "$1/test/"
  ln -s "$root/node_modules" "$1/node_modules"
}

# Prints `joule info --json` for the addon at $1 and checks it with the JavaScript expression $2.
expect_info() {
  JOULE_ADDON="$1" node "$root/bin/joule.js" info --json > "$scratch/info.json"
  node -e "const r = require('$scratch/info.json'); if (!($2)) { console.error('unexpected:', JSON.stringify(r.build), JSON.stringify(r.backends.cuda)); process.exit(1); }"
}

echo "check-builds: node-gyp (CPU-only)"
copy_sources "$scratch/gyp"
(cd "$scratch/gyp" && node-gyp rebuild --nodedir="$(dirname "$(dirname "$(command -v node)")")" > "$scratch/gyp.log" 2>&1) ||
  { cat "$scratch/gyp.log"; exit 1; }
expect_info "$scratch/gyp/build/Release/joule.node" \
  "r.build.system === 'node-gyp' && /^not built: node-gyp/.test(r.build.cuda) && r.backends.shm.usable"

echo "check-builds: cmake-js with no nvcc on PATH"
copy_sources "$scratch/nocuda"
(cd "$scratch/nocuda" && env -u CUDACXX PATH=/usr/bin:/bin node scripts/build-native.js > "$scratch/nocuda.log" 2>&1) ||
  { cat "$scratch/nocuda.log"; exit 1; }
grep -q "joule: not built: no CUDA compiler found" "$scratch/nocuda.log"
expect_info "$scratch/nocuda/build/Release/joule.node" \
  "r.build.system === 'cmake-js' && /^not built: no CUDA compiler/.test(r.build.cuda) && /^not found/.test(r.backends.cuda.reason)"
echo "check-builds: ok"
