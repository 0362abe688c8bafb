// CLI errors: unknown commands and flags exit 2 with a message; --help and --version work.
import assert from 'node:assert/strict';
import { joule } from '../helpers/run';
import { packageVersion } from '../../src/paths';

describe('joule CLI', () => {
  it('rejects an unknown command with exit code 2', async () => {
    const result = await joule(['frobnicate']);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /Unknown argument: frobnicate/);
    assert.match(result.stderr, /joule --help/);
  });

  it('rejects an unknown flag with exit code 2', async () => {
    const result = await joule(['info', '--no-such-flag']);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /Unknown argument/);
  });

  it('asks for a command when given none', async () => {
    const result = await joule([]);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /Name a command/);
  });

  it('prints help with examples and the exit codes', async () => {
    const result = await joule(['info', '--help']);
    assert.equal(result.code, 0);
    assert.match(result.stdout, /Examples:/);
    assert.match(result.stdout, /--json/);
    const top = await joule(['--help']);
    assert.match(top.stdout, /Exit codes: 0 ok, 1 failure, 2 usage error/);
  });

  it('prints its version', async () => {
    const result = await joule(['--version']);
    assert.equal(result.stdout.trim(), packageVersion);
  });
});
