// Native code's error codes come from one enum (native/errors.h) whose names are joule's own codes
// (src/errors.ts); no native file spells a code as a loose string.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { jouleErrorCodes, knownErrorCode } from '../../src/errors';
import { packageRoot } from '../../src/paths';

const nativeDir = path.join(packageRoot, 'native');

function sources(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const file = path.join(dir, entry.name);
    if (entry.isDirectory()) return sources(file);
    return /\.(cc|h|cu|c)$/.test(entry.name) ? [file] : [];
  });
}

describe('native error codes', () => {
  it('native/errors.h names only codes src/errors.ts lists, each once', () => {
    const header = fs.readFileSync(path.join(nativeDir, 'errors.h'), 'utf8');
    const names = [...header.matchAll(/X\((\w+), "(JOULE_[A-Z_]+)"\)/g)].map((m) => m[2]);
    assert.ok(names.length >= 7, `only ${names.length} codes found in errors.h`);
    assert.equal(new Set(names).size, names.length, 'a code appears twice');
    for (const name of names) assert.ok((jouleErrorCodes as readonly string[]).includes(name), `${name} is not in src/errors.ts`);
  });

  it('no other native file spells an error code as a string', () => {
    const offenders: string[] = [];
    for (const file of sources(nativeDir)) {
      if (path.basename(file) === 'errors.h') continue;
      for (const [, literal] of fs.readFileSync(file, 'utf8').matchAll(/"(JOULE_[A-Z0-9_]+)"/g)) {
        if (knownErrorCode(literal)) offenders.push(`${path.relative(packageRoot, file)}: "${literal}"`);
      }
    }
    assert.deepEqual(offenders, []);
  });

  it('knownErrorCode passes joule codes and nothing else', () => {
    assert.equal(knownErrorCode('JOULE_TIMEOUT'), 'JOULE_TIMEOUT');
    assert.equal(knownErrorCode('JOULE_NOT_A_CODE'), undefined);
    assert.equal(knownErrorCode(42), undefined);
  });
});
