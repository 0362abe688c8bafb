// `joule bench <subcommand>`: the benchmarks, one file each; add a subcommand to the list below.
import type { CommandModule } from 'yargs';
import { benchCastCommand } from './cast';
import { samplerBenchCommand } from './sampler';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const subcommands: CommandModule<any, any>[] = [samplerBenchCommand, benchCastCommand];

export const benchCommand: CommandModule = {
  command: 'bench',
  describe: 'Benchmarks (each checks its own results)',
  builder: (yargs) => yargs.command(subcommands).demandCommand(1, 'Name a benchmark; `joule bench --help` lists them.'),
  handler: () => undefined,
};
