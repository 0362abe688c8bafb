// A command declared as data (src/cli/command.ts): what its handler receives for a command line.
import assert from 'node:assert/strict';
import { Command } from 'commander';
import { addCommand, type CommandSpec } from '../../src/cli/command';

/** Parses `argv` for one command built from `spec`; resolves with the handler's arguments, or rejects with commander's error. */
async function parse(spec: Omit<CommandSpec, 'handler'>, argv: string[]): Promise<Record<string, unknown>> {
  let received: Record<string, unknown> | undefined;
  const program = new Command('joule').exitOverride().configureOutput({ writeErr: () => undefined, writeOut: () => undefined });
  addCommand(program, { ...spec, handler: (args) => void (received = args) });
  await program.parseAsync(argv, { from: 'user' });
  assert.ok(received, 'the handler ran');
  return received;
}

const spec: Omit<CommandSpec, 'handler'> = {
  command: 'run [cmd..]',
  describe: 'test',
  options: {
    ntasks: { alias: 'n', type: 'number', describe: 'ranks' },
    'run-dir': { type: 'string', describe: 'dir' },
    json: { type: 'boolean', default: false, describe: 'json' },
    js: { type: 'boolean', default: true, describe: 'js' },
    grid: { type: 'string', array: true, describe: 'dimensions' },
    precision: { choices: ['fp32', 'bf16'], default: 'fp32', describe: 'wire' },
  },
};

describe('CLI commands as data', () => {
  it('gives the handler every option under its declared name, defaults filled in, and the operands', async () => {
    const args = await parse(spec, ['run', '-n', '2', '--run-dir', 'x', '--grid', 'a=1', 'b=2', '--', 'node', 'train.js', '--epochs', '3']);
    assert.deepEqual(args, { ntasks: 2, 'run-dir': 'x', json: false, js: true, grid: ['a=1', 'b=2'], precision: 'fp32', cmd: ['node', 'train.js', '--epochs', '3'] });
  });

  it('turns a default-on flag off with --no-<name> and takes the last of a repeated option', async () => {
    const args = await parse(spec, ['run', '--no-js', '--json', '-n', '1', '-n', '4']);
    assert.equal(args.js, false);
    assert.equal(args.json, true);
    assert.equal(args.ntasks, 4);
  });

  it('refuses a number that is not one, a value outside the choices and an unknown option, naming each', async () => {
    await assert.rejects(parse(spec, ['run', '-n', 'two']), /--ntasks takes a number, got "two"/);
    await assert.rejects(parse(spec, ['run', '--precision', 'fp8']), /Allowed choices are fp32, bf16/);
    await assert.rejects(parse(spec, ['run', '--bogus']), (error: { code?: string }) => error.code === 'commander.unknownOption');
  });

  it('runs the check before the handler, and a required operand must be there', async () => {
    const checked = { ...spec, command: 'show <profile>', check: (args: { ntasks?: number }) => assert.ok(args.ntasks === undefined || args.ntasks > 0, 'ntasks must be positive') };
    await assert.rejects(parse(checked, ['show', 'a', '-n', '0']), /ntasks must be positive/);
    assert.equal((await parse(checked, ['show', 'local'])).profile, 'local');
    await assert.rejects(parse(checked, ['show']), (error: { code?: string }) => error.code === 'commander.missingArgument');
  });

  it('registers a group\'s subcommands under it', async () => {
    let ran = '';
    const program = new Command('joule').exitOverride();
    addCommand(program, { command: 'profile', describe: 'group', subcommands: () => [{ command: 'list', describe: 'list them', handler: () => void (ran = 'list') }] });
    await program.parseAsync(['profile', 'list'], { from: 'user' });
    assert.equal(ran, 'list');
  });
});
