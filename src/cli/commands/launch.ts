// `joule launch`: start N ranks (here, or with srun inside an allocation), supervise them, write the run directory.
import type { CommandSpec } from '../command';
import { JouleError } from '../../errors';
import { envDefault, readEnv } from '../../env';
import { printJson } from '../output';
import type { EnergyTotals } from '../../power/attribution';

interface LaunchArgs {
  ntasks?: number;
  profile: string;
  name?: string;
  'run-dir'?: string;
  launcher: 'auto' | 'local' | 'srun';
  secure: boolean;
  iface?: string;
  heartbeat: number;
  'heartbeat-misses': number;
  'join-timeout': number;
  json: boolean;
  oversubscribe: boolean;
  'exit-grace': number;
  'idle-baseline'?: string;
  'pretend-nodes'?: number;
  cmd?: string[];
}

/**
 * "12.3 J measured (rapl 10.1 J, nvml-counter 2.2 J), 0.0000034 kWh, 0.0016 g CO2e; model (not measured): 4.5 J,
 * 0.0000013 kWh, 0.00060 g CO2e (profile local, PUE 1)": measured and model figures never added together.
 */
function describeEnergy(totals: EnergyTotals): string {
  const sources = Object.entries(totals.sources).filter(([source]) => source !== 'model').map(([source, joules]) => `${source} ${joules.toFixed(1)} J`);
  const parts = [sources.length ? `${totals.measuredJ.toFixed(1)} J measured (${sources.join(', ')}), ${totals.kWh.toPrecision(3)} kWh, ${totals.co2eG.toPrecision(3)} g CO2e` : 'nothing measured (no NVML GPU, no readable RAPL counter)'];
  if (totals.modelJ > 0) parts.push(`model (not measured): ${totals.modelJ.toFixed(1)} J, ${totals.model.kWh.toPrecision(3)} kWh, ${totals.model.co2eG.toPrecision(3)} g CO2e`);
  if (totals.idlePowerW !== undefined) parts.push(`idle ${totals.idlePowerW.toFixed(1)} W (${totals.idleSource})`);
  if (totals.incompleteRanks.length) parts.push(`rank(s) ${totals.incompleteRanks.join(', ')} counted to their last power record (they did not finish)`);
  return `${parts.join('; ')} (profile ${totals.profile}, PUE ${totals.pue})`;
}

function positive(value: number | undefined, flag: string, integer: boolean): void {
  if (value === undefined) return;
  if (!Number.isFinite(value) || value <= 0 || (integer && !Number.isInteger(value))) {
    throw new JouleError('JOULE_BAD_ARGUMENT', `${flag} must be a positive ${integer ? 'integer' : 'number'}, got ${value}`);
  }
}

export const launchCommand: CommandSpec<LaunchArgs> = {
  command: 'launch [cmd..]',
  describe: 'Start N ranks of a command, coordinate them (join, barrier, key-value, heartbeats, abort) and write runs/<time>-<name>/',
  operands: {
    cmd: 'The rank command, after `--`',
  },
  options: {
    ntasks: { alias: 'n', type: 'number', describe: 'Number of ranks (inside an allocation: default SLURM_NTASKS)' },
    profile: { type: 'string', default: 'local', describe: 'Cluster profile: a name in slurm/profiles/ or a path to a .json' },
    name: { type: 'string', describe: 'Run name (default: the script name); the run directory is runs/<UTC time>-<name>' },
    'run-dir': { type: 'string', describe: 'Write the run record to exactly this directory' },
    launcher: { choices: ['auto', 'local', 'srun'] as const, default: 'auto' as const, describe: 'Start ranks as local processes, with srun, or srun only inside an allocation' },
    secure: { type: 'boolean', default: false, describe: 'Encrypt coordinator traffic with ZeroMQ CURVE (keys derived from the job secret)' },
    iface: { type: 'string', describe: 'Network interface the coordinator listens on under SLURM (default: the one this node name resolves to; env JOULE_IFACE)' },
    heartbeat: { type: 'number', default: envDefault('JOULE_HEARTBEAT_S'), describe: 'Seconds between heartbeats (both ways)' },
    'heartbeat-misses': { type: 'number', default: envDefault('JOULE_HEARTBEAT_MISSES'), describe: 'Missed heartbeats after which a rank (or the coordinator) counts as dead' },
    'join-timeout': { type: 'number', default: envDefault('JOULE_JOIN_TIMEOUT_S'), describe: 'Seconds for every rank to call joule.init(); the timeout names the ranks that never did' },
    json: { type: 'boolean', default: false, describe: 'Print the final run summary as JSON (rank output then goes to stderr)' },
    oversubscribe: { type: 'boolean', default: false, describe: 'Local launcher: start more than 4 ranks per allowed CPU (refused otherwise; above 1 per CPU a warning says they share)' },
    'exit-grace': { type: 'number', default: 10, describe: 'Seconds a rank that called finalize gets to exit before the launcher ends it (and names it)' },
    'idle-baseline': { type: 'string', describe: 'Measure idle power this long before the run (e.g. 5s) to split static from dynamic energy' },
    'pretend-nodes': { type: 'number', describe: 'Local launcher: give the ranks node ids as if they sat on this many nodes (block distribution like srun), to test or measure hierarchical collectives on one host' },
  },
  examples: [
    ['$0 launch -n 4 -- node train.js --epochs 3', 'Four ranks on this host; output prefixed [rank]'],
    ['$0 launch -n 2 --name smoke --json -- node examples/hello.js', 'Summary as JSON, run record in runs/<time>-smoke/'],
    ['salloc -N2 -n8 $0 launch --secure -- node train.js', 'Inside an allocation: ranks started by srun, traffic encrypted'],
  ],
  handler: async (args) => {
    const command = (args.cmd ?? []).map(String);
    if (command.length === 0) throw new JouleError('JOULE_BAD_ARGUMENT', 'no command to launch; usage: joule launch -n N -- <command...>');
    positive(args.ntasks, '-n', true);
    positive(args.heartbeat, '--heartbeat', false);
    positive(args['heartbeat-misses'], '--heartbeat-misses', true);
    positive(args['join-timeout'], '--join-timeout', false);
    positive(args['exit-grace'], '--exit-grace', false);
    positive(args['pretend-nodes'], '--pretend-nodes', true);
    if (args.name !== undefined && !/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/.test(args.name)) {
      throw new JouleError('JOULE_BAD_ARGUMENT', `--name "${args.name}" must be letters, digits, '_', '.' or '-' (it becomes a directory name)`);
    }
    const { launch, launchDefaults } = await import('../../../launch/launcher');
    const { loadProfile } = await import('../../slurm/profile');
    const profile = loadProfile(args.profile);
    const toStderr = (text: string) => process.stderr.write(text);
    const result = await launch({
      command,
      size: args.ntasks,
      name: args.name,
      runDir: args['run-dir'],
      profile,
      launcher: args.launcher === 'auto' && profile.launcher ? profile.launcher : args.launcher,
      secure: args.secure,
      iface: args.iface ?? readEnv('JOULE_IFACE'),
      heartbeatS: args.heartbeat,
      heartbeatMisses: args['heartbeat-misses'],
      joinTimeoutS: args['join-timeout'],
      abortGraceS: launchDefaults.abortGraceS,
      oversubscribe: args.oversubscribe,
      exitGraceS: args['exit-grace'],
      pretendNodes: args['pretend-nodes'],
      idleBaselineS: args['idle-baseline'] === undefined ? undefined : (await import('../../units')).parseDurationS(args['idle-baseline']),
      out: args.json ? toStderr : (text) => process.stdout.write(text),
      err: toStderr,
    });
    if (args.json) printJson(result);
    else {
      process.stderr.write(`joule: run ${result.status} (exit ${result.exitCode}) in ${result.durationS.toFixed(2)} s; record: ${result.runDir}\n`);
      if (result.energy) process.stderr.write(`joule: energy ${describeEnergy(result.energy)}\n`);
    }
    process.exit(result.exitCode);
  },
};
