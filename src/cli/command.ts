// A CLI command as data (name and operands, options, examples, a check, a handler, subcommands) and its
// registration with commander, which parses the command line and writes the help. Handlers get one object:
// each option under the name it is declared with (`run-dir`, not `runDir`), each operand under its own.
import { Command, InvalidArgumentError, Option } from 'commander';

export interface OptionSpec {
  type?: 'string' | 'number' | 'boolean';
  alias?: string;
  default?: unknown;
  describe: string;
  choices?: readonly string[];
  /** Several values (`--grid a=1,2 b=3` or the flag repeated). */
  array?: boolean;
  /** The option must be given. */
  demandOption?: boolean;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export interface CommandSpec<A = any> {
  /** The name and its operands, e.g. `launch [cmd..]`, `report <paths..>`, `show <profile>`. */
  command: string;
  describe: string;
  /** More text for `--help`, under the description. */
  details?: string;
  options?: Record<string, OptionSpec>;
  /** What each operand named in `command` is. */
  operands?: Record<string, string>;
  /** [command line with `$0` for joule, what it does] */
  examples?: [string, string][];
  /** Checks the options together, throwing a JouleError; runs before the handler. */
  check?(args: A): void;
  handler?(args: A): void | Promise<void>;
  /** A group (`joule profile list`): its subcommands, loaded when the group is registered. */
  subcommands?: () => CommandSpec[];
}

/** `--value` of a number option: a number, or a usage error naming the option. */
function parseNumber(flag: string): (raw: string) => number {
  return (raw) => {
    const value = Number(raw);
    if (raw.trim() === '' || Number.isNaN(value)) throw new InvalidArgumentError(`${flag} takes a number, got ${JSON.stringify(raw)}`);
    return value;
  };
}

function optionsOf(name: string, spec: OptionSpec): Option[] {
  const flags = `${spec.alias ? `-${spec.alias}, ` : ''}--${name}`;
  if (spec.type === 'boolean') {
    const on = new Option(flags, spec.describe);
    // Off unless given (addCommand fills in false); flags on by default are turned off with --no-<name>, as `--no-js`.
    return spec.default === true ? [on.default(true), new Option(`--no-${name}`, `Turn --${name} off`)] : [on];
  }
  const option = new Option(`${flags} ${spec.array ? '<values...>' : spec.type === 'number' ? '<n>' : '<value>'}`, spec.describe);
  if (spec.choices) option.choices(spec.choices);
  else if (spec.type === 'number') option.argParser(parseNumber(`--${name}`));
  if (spec.default !== undefined) option.default(spec.default);
  if (spec.demandOption) option.makeOptionMandatory();
  return [option];
}

/** `name-with-dashes` as commander keys it. */
function camel(name: string): string {
  return name.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

/** Registers `spec` under `parent`; the handler gets the options by their declared names and the operands. */
export function addCommand(parent: Command, spec: CommandSpec): Command {
  const [name, ...operandWords] = spec.command.split(' ');
  const command = parent
    .command(name)
    .summary(spec.describe)
    .description(spec.details ? `${spec.describe}\n\n${spec.details}` : spec.describe)
    .allowExcessArguments(false);
  const operandNames: string[] = [];
  for (const word of operandWords) {
    // `<x>` required, `[x]` optional, `..` several: yargs' notation, commander's with three dots.
    const operand = /^([<[])([\w-]+)(\.\.)?[>\]]$/.exec(word);
    if (!operand) throw new Error(`bad operand ${word} in command "${spec.command}"`);
    operandNames.push(operand[2]);
    const text = operand[3] ? `${operand[2]}...` : operand[2];
    command.argument(operand[1] === '<' ? `<${text}>` : `[${text}]`, spec.operands?.[operand[2]] ?? '');
  }
  for (const [optionName, optionSpec] of Object.entries(spec.options ?? {})) for (const option of optionsOf(optionName, optionSpec)) command.addOption(option);
  if (spec.examples?.length) {
    const width = Math.max(...spec.examples.map(([line]) => line.length)) + 2;
    const lines = spec.examples.map(([line, what]) => `  ${line.replace(/\$0/g, 'joule').padEnd(width + 3)}${what}`);
    command.addHelpText('after', `\nExamples:\n${lines.join('\n')}`);
  }
  if (spec.subcommands) {
    for (const sub of spec.subcommands()) addCommand(command, sub);
    return command;
  }
  command.action(async (...actionArgs: unknown[]) => {
    const operands = actionArgs.slice(0, operandNames.length);
    const options = actionArgs[operandNames.length] as Record<string, unknown>;
    const args: Record<string, unknown> = {};
    for (const [optionName, optionSpec] of Object.entries(spec.options ?? {})) {
      args[optionName] = options[camel(optionName)] ?? (optionSpec.type === 'boolean' ? false : undefined);
    }
    operandNames.forEach((operandName, i) => (args[operandName] = operands[i]));
    spec.check?.(args);
    await spec.handler?.(args);
  });
  return command;
}
