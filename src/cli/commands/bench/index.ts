// `joule bench <subcommand>`: the benchmarks, one file each; add a subcommand to the list below.
import type { CommandSpec } from '../../command';

/**
 * The subcommands, required only when `bench` is the command: their imports (communicators, the rank
 * runtime, the addon) would otherwise slow every other command, `joule launch`'s start-up included.
 */
function subcommands(): CommandSpec[] {
  return [
    (require('./sampler') as typeof import('./sampler')).samplerBenchCommand,
    (require('./cast') as typeof import('./cast')).benchCastCommand,
    (require('./allreduce') as typeof import('./allreduce')).allreduceBench,
    (require('./allgather') as typeof import('./allgather')).allgatherBench,
    (require('./reducescatter') as typeof import('./reducescatter')).reducescatterBench,
    (require('./broadcast') as typeof import('./broadcast')).broadcastBench,
    (require('./sendrecv') as typeof import('./sendrecv')).sendrecvBench,
  ];
}

export const benchCommand: CommandSpec = {
  command: 'bench',
  describe: 'Benchmarks (each checks its own results)',
  subcommands,
};
