// CLI errors: unknown commands and flags exit 2 with a message; --help and --version work; commands load by name.
import assert from 'node:assert/strict';
import { joule } from '../helpers/run';
import { packageVersion } from '../../src/paths';
import { commandsFor } from '../../src/cli/commands';

describe('joule CLI', () => {
  it('rejects an unknown command with exit code 2', async () => {
    const result = await joule(['frobnicate']);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /unknown command 'frobnicate'/);
    assert.match(result.stderr, /joule --help/);
  });

  it('rejects an unknown flag with exit code 2', async () => {
    const result = await joule(['info', '--no-such-flag']);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /unknown option '--no-such-flag'/);
    assert.match(result.stderr, /Run `joule info --help` for usage/, 'the hint names the command the flag was given to');
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

describe('joule CLI command loading', () => {
  it('loads the command a command line names, by the first word of its module\'s `command`, and every command otherwise', () => {
    const all = commandsFor(['--help']);
    assert.ok(all.length >= 12, `only ${all.length} commands registered for --help`);
    for (const command of all) {
      const name = String(command.command).split(' ')[0];
      assert.deepEqual(commandsFor([name, '--json']), [command], `\`joule ${name}\` does not load its own module alone`);
    }
    assert.equal(commandsFor(['lauch']).length, all.length, 'a mistyped name must see every command, for the suggestion');
    assert.equal(commandsFor([]).length, all.length);
  });
});
