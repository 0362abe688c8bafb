#!/usr/bin/env node
// Writes the environment-variable table generated from src/env.ts into README.md (needs `npx tsc`, dist/).
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const { envTable } = require(path.join(root, 'dist/src/env.js'));
const readme = path.join(root, 'README.md');
const text = fs.readFileSync(readme, 'utf8');
const pattern = /(<!-- env-table:start -->\n)[\s\S]*?(\n<!-- env-table:end -->)/;
if (!pattern.test(text)) {
  console.error('README.md has no <!-- env-table:start --> ... <!-- env-table:end --> block');
  process.exit(1);
}
fs.writeFileSync(readme, text.replace(pattern, `$1${envTable()}$2`));
