// `joule sbatch`: render a job script from a profile and a template, print it (--dry-run) or submit it, optionally waiting for the job.
import type { CommandSpec } from '../command';
import { printJson } from '../output';
import { JouleError } from '../../errors';

/** sbatch takes 25:99:99 as a time, but it is a typo: fields after the first under 60, and hours under 24 after a day count. */
function checkTimeFields(time: string): void {
  const [days, rest] = time.includes('-') ? time.split('-') : [undefined, time];
  const fields = rest.split(':').map(Number);
  // The first field (minutes, hours, or hours after a day count) may be large; the ones after it may not.
  if (fields.slice(1).some((value) => value >= 60) || (days !== undefined && fields[0] >= 24)) {
    throw new JouleError('JOULE_BAD_ARGUMENT', `--time ${time}: minutes and seconds must be under 60${days !== undefined ? ' and hours under 24 after the day count' : ''}`);
  }
}

interface SbatchArgs {
  profile: string;
  nodes?: number;
  'ntasks-per-node'?: number;
  'gpus-per-node'?: number;
  'cpus-per-task'?: number;
  time?: string;
  partition?: string;
  account?: string;
  qos?: string;
  constraint?: string;
  name?: string;
  output?: string;
  template?: string;
  secure: boolean;
  'dry-run': boolean;
  wait: boolean;
  json: boolean;
  cmd?: string[];
}

export const sbatchCommand: CommandSpec<SbatchArgs> = {
  command: 'sbatch [cmd..]',
  describe: 'Submit a command as a SLURM batch job that runs it under `joule launch` (one rank per task), from a cluster profile and a template',
  operands: {
    cmd: 'The rank command, after `--`',
  },
  options: {
    profile: { type: 'string', default: 'local', describe: 'Cluster profile: a name in slurm/profiles/ or a path to a .json' },
    nodes: { alias: 'N', type: 'number', describe: 'Nodes (default: the profile\'s, else 1)' },
    'ntasks-per-node': { type: 'number', describe: 'Ranks per node (default: the profile\'s GPUs per node, else 1)' },
    'gpus-per-node': { type: 'number', describe: 'GPUs per node (default: the profile\'s)' },
    'cpus-per-task': { type: 'number', describe: 'CPUs per rank' },
    time: { alias: 't', type: 'string', describe: 'Time limit: minutes, MM:SS, HH:MM:SS or D-HH[:MM[:SS]]' },
    partition: { alias: 'p', type: 'string', describe: 'Partition (default: the profile\'s)' },
    account: { alias: 'A', type: 'string', describe: 'Account to charge (default: the profile\'s)' },
    qos: { type: 'string', describe: 'Quality of service (default: the profile\'s)' },
    constraint: { alias: 'C', type: 'string', describe: 'Node features required (default: the profile\'s)' },
    name: { alias: 'J', type: 'string', describe: 'Job and run name (default: the script name)' },
    output: { alias: 'o', type: 'string', describe: 'Job output file pattern for sbatch (%j job id, %x name); default slurm-%j.out' },
    template: { type: 'string', describe: 'Job script template: a name in slurm/templates/ or a path (default: launch)' },
    secure: { type: 'boolean', default: false, describe: 'Encrypt coordinator traffic across nodes (joule launch --secure)' },
    'dry-run': { type: 'boolean', default: false, describe: 'Print the rendered job script and submit nothing' },
    wait: { type: 'boolean', default: false, describe: 'Wait for the job to end (sbatch --wait) and exit with its exit code' },
    json: { type: 'boolean', default: false, describe: 'Print the result as JSON (with --dry-run: the resolved job and the script)' },
  },
  examples: [
    ['$0 sbatch --dry-run -N 2 -- node train.js', 'Print the job script for two nodes with the local profile'],
    ['$0 sbatch --profile clusterA -N 4 --time 2:00:00 -- node train.js --epochs 10', 'Submit to cluster A: four nodes, one rank per GPU'],
    ['$0 sbatch --wait --json -- node examples/hello.js', 'Submit, wait, print {"jobId", "exitCode"}, exit with the job\'s code'],
  ],
  handler: async (args) => {
    if (args.time !== undefined) checkTimeFields(args.time);
    const { renderJob, submitJob } = await import('../../slurm/sbatch');
    const { job, script } = renderJob({
      profile: args.profile,
      command: (args.cmd ?? []).map(String),
      name: args.name,
      nodes: args.nodes,
      ntasksPerNode: args['ntasks-per-node'],
      gpusPerNode: args['gpus-per-node'],
      cpusPerTask: args['cpus-per-task'],
      time: args.time,
      partition: args.partition,
      account: args.account,
      qos: args.qos,
      constraint: args.constraint,
      output: args.output,
      template: args.template,
      secure: args.secure,
    });
    if (args['dry-run']) {
      if (args.json) printJson({ job, script });
      else process.stdout.write(script);
      return;
    }
    const result = await submitJob(script, {
      wait: args.wait,
      onSubmitted: (jobId) => {
        if (!args.json) process.stdout.write(`${jobId}\n`);
        if (args.wait) process.stderr.write(`joule: submitted job ${jobId} (${job.name}); waiting for it to end\n`);
      },
    });
    if (args.json) printJson({ ...result, name: job.name, profile: job.profile });
    if (args.wait) {
      process.stderr.write(`joule: job ${result.jobId} ended with exit code ${result.exitCode}\n`);
      process.exit(result.exitCode ?? 1);
    }
  },
};
