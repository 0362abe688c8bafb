#!/usr/bin/env node
// The `joule` command: runs the compiled CLI.
require('../dist/src/cli/main.js').main(process.argv.slice(2));
