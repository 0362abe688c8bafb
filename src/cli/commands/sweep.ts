// `joule sweep`: a grid of runs (any command with {param} placeholders, or joule train), run here one after another or submitted as a job array, resumable.
import path from 'node:path';
import type { CommandSpec } from '../command';
import { JouleError } from '../../errors';
import { formatTable, printJson } from '../output';

interface SweepArgs {
  grid?: string[];
  repeat: number;
  file?: string;
  dir?: string;
  name?: string;
  profile: string;
  ntasks?: number;
  resume?: string;
  status: boolean;
  'retry-failed': boolean;
  'array-task'?: number;
  submit: boolean;
  nodes?: number;
  'ntasks-per-node'?: number;
  time?: string;
  partition?: string;
  account?: string;
  parallel?: number;
  wait: boolean;
  'dry-run': boolean;
  json: boolean;
  cmd?: string[];
}

function duration(seconds: number | null): string {
  if (seconds === null) return '-';
  if (seconds < 120) return `${seconds.toFixed(1)} s`;
  return `${Math.floor(seconds / 60)} min ${Math.round(seconds % 60)} s`;
}

function timestamp(): string {
  return new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, '').replace('T', '-');
}

export const sweepCommand: CommandSpec<SweepArgs> = {
  command: 'sweep [cmd..]',
  describe: 'Run a grid of runs: each point its own run directory, indexed in a sweep directory (sweep.json); here one after another, or as a SLURM job array; resumable',
  operands: {
    cmd: 'The command after `--`, with {name} placeholders; `train ...` means joule train',
  },
  options: {
    grid: { alias: 'g', type: 'string', array: true, describe: 'A dimension: name=v1,v2,... (repeat the flag). gpus or ntasks set the rank count; power-limit sets the GPUs\' NVML power limit (W) for the run' },
    repeat: { type: 'number', default: 1, describe: 'Runs per configuration (for spread and ties)' },
    file: { type: 'string', describe: 'A sweep file: {"command": [...], "grid": {"name": [values]}, "repeat": 3, "ntasks": 2}' },
    dir: { type: 'string', describe: 'The sweep directory (default sweeps/<UTC time>-<name>)' },
    name: { type: 'string', describe: 'Sweep name (default: the command\'s)' },
    profile: { type: 'string', default: 'local', describe: 'Cluster profile for every run: a name in slurm/profiles/ or a path' },
    ntasks: { alias: 'n', type: 'number', describe: 'Ranks per run when no gpus/ntasks dimension is given' },
    resume: { type: 'string', describe: 'Continue the sweep in this directory: finished runs are kept, interrupted ones run again' },
    status: { type: 'boolean', default: false, describe: 'With --resume: print each point\'s status and run nothing' },
    'retry-failed': { type: 'boolean', default: false, describe: 'With --resume: run failed points again too' },
    'array-task': { type: 'number', describe: 'Run only this point (what each task of the job array does)' },
    submit: { type: 'boolean', default: false, describe: 'Submit the points not yet done as one SLURM job array (slurm/templates/sweep.sbatch) instead of running them here' },
    nodes: { alias: 'N', type: 'number', describe: '--submit: nodes per point' },
    'ntasks-per-node': { type: 'number', describe: '--submit: ranks per node' },
    time: { alias: 't', type: 'string', describe: '--submit: time limit per point' },
    partition: { alias: 'p', type: 'string', describe: '--submit: partition (default: the profile\'s)' },
    account: { alias: 'A', type: 'string', describe: '--submit: account (default: the profile\'s)' },
    parallel: { type: 'number', describe: '--submit: at most this many points at once (--array=...%N)' },
    wait: { type: 'boolean', default: false, describe: '--submit: wait for the whole array (sbatch --wait)' },
    'dry-run': { type: 'boolean', default: false, describe: '--submit: print the job script, submit nothing' },
    json: { type: 'boolean', default: false, describe: 'Print the outcome as JSON (progress stays on stderr)' },
  },
  examples: [
    ['$0 sweep --grid lbs=32,64 --grid precision=fp32,bf16 --repeat 3 -- train --model mlp -n 2', 'joule train over a grid; unused dimensions become --lbs/--precision flags'],
    ['$0 sweep --grid size=1K,1M -- node bench.js --bytes {size}', 'Any command: {size} takes each value'],
    ['$0 sweep --grid power-limit=250,300,400 -- train --model resnet-mini', 'GPU power limit per run (NVML, restored after)'],
    ['$0 sweep --profile a100 --submit -N 1 --grid gpus=1,2,4 -- train', 'One job-array task per point'],
    ['$0 sweep --resume sweeps/20261202-101500-train', 'Continue after an interruption; failed points are listed'],
  ],
  handler: async (args) => {
    const { expandSweep, parseGridFlags, readSweepFile } = await import('../../experiments/sweep-grid');
    const { createSweep, readSweep, sweepStates } = await import('../../experiments/sweep-dir');
    const printStatus = (dir: string) => {
      const rows = sweepStates(dir).map((s) => [s.point.id, s.status, duration(s.durationS), s.exitCode === null ? '-' : String(s.exitCode), path.relative(process.cwd(), s.runDir)]);
      process.stdout.write(`${formatTable([['POINT', 'STATUS', 'TIME', 'EXIT', 'RUN DIRECTORY'], ...rows])}\n`);
    };
    const { runSweepLocally, submitSweep, sweepOutcome } = await import('../../experiments/sweep-run');
    const { loadProfile } = await import('../../slurm/profile');
    let dir: string;
    const command = (args.cmd ?? []).map(String);
    if (args.resume !== undefined) {
      if (args.grid || args.file || command.length) throw new JouleError('JOULE_BAD_ARGUMENT', '--resume continues the sweep as planned: give no --grid, --file or command with it');
      dir = path.resolve(args.resume);
      readSweep(dir);
    } else {
      if (args.status || args['array-task'] !== undefined) throw new JouleError('JOULE_BAD_ARGUMENT', '--status and --array-task need --resume DIR');
      const spec = args.file ? readSweepFile(args.file) : { command, grid: parseGridFlags(args.grid ?? []), repeat: args.repeat, ntasks: args.ntasks };
      if (args.file && (args.grid || command.length)) throw new JouleError('JOULE_BAD_ARGUMENT', '--file holds the grid and the command: give neither --grid nor a command with it');
      if (spec.ntasks !== undefined && (!Number.isSafeInteger(spec.ntasks) || spec.ntasks < 1)) throw new JouleError('JOULE_BAD_ARGUMENT', `-n must be an integer >= 1, got ${spec.ntasks}`);
      const points = expandSweep(spec);
      loadProfile(args.profile);
      const name = args.name ?? (spec.command[0] === 'train' ? 'train' : path.basename(spec.command.find((w, i) => i > 0 && !w.startsWith('-') && !w.includes('{')) ?? spec.command[0]).replace(/\.[^.]+$/, ''));
      if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/.test(name)) throw new JouleError('JOULE_BAD_ARGUMENT', `--name ${JSON.stringify(name)} must be 1-64 letters, digits, '_', '.' or '-'`);
      dir = path.resolve(args.dir ?? path.join('sweeps', `${timestamp()}-${name}`));
      createSweep(dir, { name, profile: args.profile, spec }, points);
      process.stderr.write(`joule: sweep ${name}: ${points.length} run(s) in ${dir}\n`);
    }

    if (args.submit) {
      const result = await submitSweep(dir, {
        nodes: args.nodes,
        ntasksPerNode: args['ntasks-per-node'],
        time: args.time,
        partition: args.partition,
        account: args.account,
        parallel: args.parallel,
        wait: args.wait,
        dryRun: args['dry-run'],
        onSubmitted: (jobId) => process.stderr.write(`joule: submitted job array ${jobId} (${dir})${args.wait ? '; waiting for it to end' : ''}\n`),
      });
      if (args['dry-run']) {
        process.stdout.write(result.script);
        return;
      }
      const outcome = sweepOutcome(dir);
      if (args.json) printJson({ jobId: result.jobId, exitCode: result.exitCode, indexes: result.indexes, ...outcome });
      else if (!args.wait) process.stdout.write(`${result.jobId}\n`);
      if (args.wait) finish(outcome, false);
      return;
    }
    if (args.status) {
      const outcome = sweepOutcome(dir);
      if (args.json) printJson(outcome);
      else printStatus(dir);
      return;
    }
    const tty = process.stderr.isTTY === true;
    const outcome = await runSweepLocally(dir, {
      retryFailed: args['retry-failed'],
      only: args['array-task'],
      progress: (p) => {
        const eta = p.etaS === null ? 'ETA after the first run' : `ETA ${duration(p.etaS)}`;
        const line = p.current === null ? `joule sweep: ${p.done}/${p.total} done, ${p.failed} failed, ${p.left} left` : `joule sweep: [${p.done}/${p.total} done, ${p.failed} failed, ${p.left} left, ${eta}] running ${p.current}`;
        process.stderr.write(tty ? `\r\x1b[K${line}${p.current === null ? '\n' : ''}` : `${line}\n`);
      },
    });
    if (!args.json) printStatus(dir);
    finish(outcome, args.json);
  },
};

function finish(outcome: import('../../experiments/sweep-run').SweepOutcome, json: boolean): void {
  if (json) printJson(outcome);
  if (outcome.failed.length > 0) {
    process.stderr.write(`joule: ${outcome.failed.length} run(s) did not succeed: ${outcome.failed.map((f) => `${f.id} (${f.status}${f.exitCode !== null ? `, exit ${f.exitCode}` : ''})`).join(', ')}; logs in ${path.join(outcome.dir, 'logs')}; joule sweep --resume ${outcome.dir} --retry-failed runs them again\n`);
    process.exitCode = 1;
  } else if (outcome.pending.length > 0) {
    process.stderr.write(`joule: ${outcome.pending.length} run(s) not done yet; joule sweep --resume ${outcome.dir} continues\n`);
  }
}
