#!/usr/bin/env node
// Prints the addon's C++ sources (native/**/*.cc) for binding.gyp, so node-gyp and CMake build the same files.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
function walk(dir) {
  return fs.readdirSync(path.join(root, dir), { withFileTypes: true }).flatMap((entry) => {
    const relative = path.posix.join(dir, entry.name);
    if (entry.isDirectory()) return walk(relative);
    return entry.name.endsWith('.cc') ? [relative] : [];
  });
}
console.log(walk('native').sort().join(' '));
