// The joule CLI: commander with one command per file (./command.ts), strict parsing, and documented exit codes.
import { Command, CommanderError } from 'commander';
import { readEnv } from '../env';
import { isJouleError, usageErrorCodes } from '../errors';
import { packageVersion } from '../paths';
import { addCommand } from './command';
import { commandsFor } from './commands';
import { ExitCode } from './exit-codes';

function reportFailure(error: unknown): never {
  if (isJouleError(error)) {
    process.stderr.write(`joule: ${error.message} [${error.code}]\n`);
    process.exit(usageErrorCodes.has(error.code) ? ExitCode.usage : ExitCode.failure);
  }
  // Not one of joule's own errors: one line, the stack only on request.
  const text = error instanceof Error ? `${error.message}${(error as NodeJS.ErrnoException).code ? ` [${(error as NodeJS.ErrnoException).code}]` : ''}` : String(error);
  process.stderr.write(`joule: ${text}\n${readEnv('JOULE_DEBUG') ? `${(error as Error)?.stack ?? ''}\n` : '(JOULE_DEBUG=1 shows where it happened)\n'}`);
  process.exit(ExitCode.failure);
}

/** The hint for an unknown option of `joule launch` that belonged to the rank command. */
function launchHint(argv: string[], error: CommanderError): string {
  return argv[0] === 'launch' && !argv.includes('--') && error.code === 'commander.unknownOption' ? '\nPut the rank command after `--`, e.g. joule launch -n 2 -- node train.js --epochs 3' : '';
}

/** The command a command line is inside, as typed (`joule profile show`): the deepest one its words name. */
function commandPath(program: Command, argv: string[]): string {
  const names = ['joule'];
  let command = program;
  for (const word of argv) {
    const sub = command.commands.find((c) => c.name() === word);
    if (!sub) break;
    names.push(word);
    command = sub;
  }
  return names.join(' ');
}

/** commander's own exits: help and version are fine; everything else is a usage error, said once, exit 2. */
function usageExit(program: Command, argv: string[], error: CommanderError): never {
  if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version') process.exit(ExitCode.ok);
  const where = commandPath(program, argv);
  // A group named without its subcommand (or no command at all): commander printed the group's help above.
  if (error.code === 'commander.help') process.stderr.write(`joule: Name a command; \`${where} --help\` lists them.\n`);
  else process.stderr.write(`joule: ${error.message.replace(/^error: /, '')}${launchHint(argv, error)}\nRun \`${where} --help\` for usage.\n`);
  process.exit(ExitCode.usage);
}

export async function main(argv: string[]): Promise<void> {
  const program = new Command('joule')
    .description('Energy-aware distributed training runtime: launch ranks, run collectives, measure joules.')
    .version(packageVersion, '--version')
    .showSuggestionAfterError(true)
    .addHelpText('after', "\nExit codes: 0 ok, 1 failure, 2 usage error, 3 benchmark found wrong results; a launched job exits with its failed rank's code.")
    // Errors are printed once, by usageExit, in joule's form; subcommands inherit both settings.
    .configureOutput({ outputError: () => undefined })
    .exitOverride((error) => usageExit(program, argv, error));
  for (const spec of commandsFor(argv)) addCommand(program, spec);
  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (error) {
    reportFailure(error);
  }
}
