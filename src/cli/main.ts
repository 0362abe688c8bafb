// The joule CLI: yargs with one command per file, strict parsing, and documented exit codes.
import yargs from 'yargs';
import { readEnv } from '../env';
import { isJouleError, usageErrorCodes } from '../errors';
import { packageVersion } from '../paths';
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
function launchHint(argv: string[], message: string): string {
  return argv[0] === 'launch' && !argv.includes('--') && /^Unknown argument/.test(message) ? '\nPut the rank command after `--`, e.g. joule launch -n 2 -- node train.js --epochs 3' : '';
}

export async function main(argv: string[]): Promise<void> {
  const parser = yargs(argv)
    .scriptName('joule')
    .usage('$0 <command> [options]\n\nEnergy-aware distributed training runtime: launch ranks, run collectives, measure joules.')
    .command(commandsFor(argv))
    .demandCommand(1, 'Name a command; `joule --help` lists them.')
    .strict()
    .recommendCommands()
    .help()
    .alias('h', 'help')
    .version(packageVersion)
    .epilogue('Exit codes: 0 ok, 1 failure, 2 usage error, 3 benchmark found wrong results; a launched job exits with its failed rank\'s code.')
    // yargs lays out (and caches) a command's help text on every run of it; the word wrapping alone cost
    // `joule launch` 10–20 ms of CPU before its ranks started, so it is done only when help is asked for.
    .wrap(argv.includes('--help') || argv.includes('-h') ? Math.min(110, process.stdout.columns ?? 110) : null)
    .fail((message, error) => {
      if (error) reportFailure(error);
      process.stderr.write(`joule: ${message}${launchHint(argv, message)}\nRun \`joule --help\` for usage.\n`);
      process.exit(ExitCode.usage);
    });
  try {
    await parser.parseAsync();
  } catch (error) {
    reportFailure(error);
  }
}
