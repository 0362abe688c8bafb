// The package API (src/index.ts): every export resolves, and require('joule') loads what a rank needs to start, not the rest.
import assert from 'node:assert/strict';
import path from 'node:path';
import * as api from '../src';
import * as power from '../src/power';
import { packageRoot } from '../src/paths';
import { run } from './helpers/run';

describe('package API', () => {
  it('resolves every export, loading its module on first use', () => {
    for (const [name, value] of Object.entries(api)) assert.notEqual(value, undefined, `joule.${name} is undefined`);
    assert.equal(new api.StaticPolicy('bf16').decide().wire, 'bf16');
    assert.ok(new api.JouleError('JOULE_BAD_ARGUMENT', 'x') instanceof Error);
  });

  it('exports every value of the power module', () => {
    for (const name of Object.keys(power)) assert.ok(name in api, `joule.${name} is missing (src/index.ts lists the power exports)`);
  });

  it('loads init and errors with require("joule"), and casts, precision, power reports and estimation only when used', async () => {
    const index = path.join(packageRoot, 'dist', 'src', 'index.js');
    const script = `const j = require(${JSON.stringify(index)}); const loaded = () => Object.keys(require.cache).map((f) => f.replace(/\\\\/g, '/'));
      const before = loaded(); void j.castPaths; void j.OnlineProjector; console.log(JSON.stringify({ before, after: loaded() }))`;
    const result = await run(process.execPath, ['-e', script]);
    assert.equal(result.code, 0, result.stderr);
    const { before, after } = JSON.parse(result.stdout) as { before: string[]; after: string[] };
    assert.ok(before.some((f) => f.endsWith('/dist/src/world/init.js')), 'init is not loaded with the package');
    for (const lazy of ['precision/cast.js', 'precision/adaptive-policy.js', 'power/attribution.js', 'power/trace.js', 'estimate/online.js']) {
      assert.ok(!before.some((f) => f.endsWith(`/dist/src/${lazy}`)), `${lazy} is loaded by require('joule') alone`);
    }
    assert.ok(after.some((f) => f.endsWith('/dist/src/precision/cast.js')) && after.some((f) => f.endsWith('/dist/src/estimate/online.js')), 'using an export did not load its module');
  });
});
