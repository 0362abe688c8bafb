// Every CLI command, one file each, by name; main.ts registers the one being run, or all of them.
import type { CommandSpec } from '../command';

// Loaded on demand: requiring all twelve modules (and what they import) made every start pay for them,
// `joule launch` included. The order is the order `joule --help` lists them in.
const loaders: Record<string, () => CommandSpec> = {
  info: () => (require('./info') as typeof import('./info')).infoCommand,
  trace: () => (require('./trace') as typeof import('./trace')).traceCommand,
  bench: () => (require('./bench') as typeof import('./bench')).benchCommand,
  sbatch: () => (require('./sbatch') as typeof import('./sbatch')).sbatchCommand,
  launch: () => (require('./launch') as typeof import('./launch')).launchCommand,
  train: () => (require('./train') as typeof import('./train')).trainCommand,
  profile: () => (require('./profile') as typeof import('./profile')).profileCommand,
  sweep: () => (require('./sweep') as typeof import('./sweep')).sweepCommand,
  compare: () => (require('./compare') as typeof import('./compare')).compareCommand,
  recommend: () => (require('./recommend') as typeof import('./recommend')).recommendCommand,
  report: () => (require('./report') as typeof import('./report')).reportCommand,
  estimate: () => (require('./estimate') as typeof import('./estimate')).estimateCommand,
};

/**
 * The commands to register for a command line: the one it names, else every one (for `--help`, a
 * mistyped name's suggestion, or options before the command).
 */
export function commandsFor(argv: string[]): CommandSpec[] {
  const named = Object.hasOwn(loaders, argv[0] ?? '') ? loaders[argv[0]] : undefined;
  return named ? [named()] : Object.values(loaders).map((load) => load());
}
