// The addon loads through src/native.ts, matches the package version, and fails loudly when missing.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { addonCandidates, native } from '../src/native';
import { packageRoot, packageVersion } from '../src/paths';
import { joule } from './helpers/run';

describe('native addon', () => {
  it('loads and reports the package version', () => {
    assert.equal(native().addonVersion, packageVersion);
  });

  it('says how it was built', () => {
    const build = native().buildInfo();
    assert.ok(['cmake-js', 'node-gyp'].includes(build.buildSystem), build.buildSystem);
    assert.equal(build.napiVersion, 8);
    assert.ok(fs.existsSync(path.join(build.addonDir, 'joule.node')));
  });

  it('looks in build/Release then build/Debug, or only at JOULE_ADDON', () => {
    assert.deepEqual(addonCandidates({}), [
      path.join(packageRoot, 'build', 'Release', 'joule.node'),
      path.join(packageRoot, 'build', 'Debug', 'joule.node'),
    ]);
    assert.deepEqual(addonCandidates({ JOULE_ADDON: '/opt/x/joule.node' }), ['/opt/x/joule.node']);
  });

  it('fails with one error listing the paths tried and how to rebuild', async () => {
    const result = await joule(['info'], { JOULE_ADDON: '/nonexistent/joule.node' });
    assert.equal(result.code, 1);
    assert.match(result.stderr, /JOULE_ADDON_LOAD_FAILED/);
    assert.match(result.stderr, /\/nonexistent\/joule\.node: not found/);
    assert.match(result.stderr, /npm rebuild/);
  });
});
