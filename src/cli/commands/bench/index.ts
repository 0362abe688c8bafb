// `joule bench <subcommand>`: the benchmarks, one file each; add a subcommand to the list below.
import type { CommandModule } from 'yargs';
import { allgatherBench } from './allgather';
import { allreduceBench } from './allreduce';
import { broadcastBench } from './broadcast';
import { benchCastCommand } from './cast';
import { reducescatterBench } from './reducescatter';
import { samplerBenchCommand } from './sampler';
import { sendrecvBench } from './sendrecv';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const subcommands: CommandModule<any, any>[] = [
  samplerBenchCommand,
  benchCastCommand,
  allreduceBench,
  allgatherBench,
  reducescatterBench,
  broadcastBench,
  sendrecvBench,
];

export const benchCommand: CommandModule = {
  command: 'bench',
  describe: 'Benchmarks (each checks its own results)',
  builder: (yargs) => yargs.command(subcommands).demandCommand(1, 'Name a benchmark; `joule bench --help` lists them.'),
  handler: () => undefined,
};
