// `joule sbatch` without the CLI: resolve a job from the command line and a profile, render its script, submit it with sbatch.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { JouleError } from '../errors';
import { packageRoot } from '../paths';
import { loadProfile, profileFile, profilesDir, timePattern, type ClusterProfile } from './profile';
import { readTemplate, renderTemplate, shellJoin, shellQuote } from './template';

export interface SbatchRequest {
  /** A profile name (slurm/profiles/) or a path to a profile .json. */
  profile: string;
  command: string[];
  name?: string;
  nodes?: number;
  ntasksPerNode?: number;
  gpusPerNode?: number;
  cpusPerTask?: number;
  time?: string;
  partition?: string;
  account?: string;
  qos?: string;
  constraint?: string;
  /** sbatch --output pattern (%j job id, %x job name); default: sbatch's own (slurm-%j.out). */
  output?: string;
  /** A template name (slurm/templates/) or path; default `launch`. */
  template?: string;
  /** Pass --secure to `joule launch` (CURVE-encrypted coordinator traffic). */
  secure?: boolean;
  /** sbatch --array: a job array (e.g. `0-11%4`), one task per sweep point. */
  array?: string;
}

/** The job as it will be submitted: every value after command line and profile defaults are merged. */
export interface ResolvedJob {
  name: string;
  profile: string;
  template: string;
  nodes: number;
  ntasksPerNode: number;
  gpusPerNode: number;
  cpusPerTask: number | null;
  time: string | null;
  partition: string | null;
  account: string | null;
  qos: string | null;
  constraint: string | null;
  output: string | null;
  array: string | null;
  command: string[];
}

export interface RenderedJob {
  job: ResolvedJob;
  script: string;
}

const sbatchWord = /^[A-Za-z0-9_.,:=@+%/-]+$/;

function badValue(flag: string, message: string, value: unknown): JouleError {
  return new JouleError('JOULE_BAD_ARGUMENT', `${flag} ${message}, got ${JSON.stringify(value)}`, { flag, value });
}

function positiveInt(value: number | undefined, flag: string, min = 1): number | undefined {
  if (value === undefined) return undefined;
  if (!Number.isSafeInteger(value) || value < min) throw badValue(flag, `must be an integer >= ${min}`, value);
  return value;
}

function wordValue(value: string | undefined, flag: string): string | null {
  if (value === undefined) return null;
  if (!sbatchWord.test(value)) throw badValue(flag, 'must be letters, digits and _.,:=@+%/- (no spaces or quotes)', value);
  return value;
}

function arrayValue(value: string): string {
  if (!/^\d+(-\d+)?(:\d+)?(,\d+(-\d+)?(:\d+)?)*(%\d+)?$/.test(value)) throw badValue('--array', 'must be indexes like 0-11, 0-11%4 or 1,3,5', value);
  return value;
}

function defaultName(command: string[]): string {
  const script = command.find((arg, i) => i > 0 && !arg.startsWith('-')) ?? command[0];
  return path.basename(script).replace(/\.[^.]+$/, '').replace(/[^A-Za-z0-9_.-]/g, '_').slice(0, 64) || 'joule';
}

/** Merges the request with the profile's defaults and checks every value; throws JOULE_BAD_ARGUMENT naming the flag. */
export function resolveJob(request: SbatchRequest, profile: ClusterProfile): ResolvedJob {
  if (request.command.length === 0) throw new JouleError('JOULE_BAD_ARGUMENT', 'no command to run: put it after `--` (joule sbatch --profile P -- node train.js)');
  const slurm = profile.slurm ?? {};
  const name = request.name ?? defaultName(request.command);
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/.test(name)) throw badValue('--name', "must be 1-64 letters, digits, '_', '.' or '-' (it names the job and the run directory)", name);
  const gpusPerNode = positiveInt(request.gpusPerNode, '--gpus-per-node', 0) ?? profile.node.gpusPerNode;
  const time = request.time ?? slurm.defaultTime ?? null;
  if (time !== null && !timePattern.test(time)) throw badValue('--time', 'must be minutes, MM:SS, HH:MM:SS, D-HH, D-HH:MM or D-HH:MM:SS', time);
  const output = request.output ?? null;
  if (output !== null && !sbatchWord.test(output)) throw badValue('--output', 'must be a path without spaces or quotes', output);
  // A profile shipped with joule is named; one given by path is passed on as an absolute path.
  const file = profileFile(request.profile);
  return {
    name,
    profile: path.dirname(file) === profilesDir ? profile.name : file,
    template: request.template ?? 'launch',
    nodes: positiveInt(request.nodes, '--nodes') ?? slurm.defaultNodes ?? 1,
    ntasksPerNode: positiveInt(request.ntasksPerNode, '--ntasks-per-node') ?? slurm.tasksPerNode ?? (gpusPerNode > 0 ? gpusPerNode : 1),
    gpusPerNode,
    cpusPerTask: positiveInt(request.cpusPerTask, '--cpus-per-task') ?? slurm.cpusPerTask ?? null,
    time,
    partition: wordValue(request.partition, '--partition') ?? slurm.partition ?? null,
    account: wordValue(request.account, '--account') ?? slurm.account ?? null,
    qos: wordValue(request.qos, '--qos') ?? slurm.qos ?? null,
    constraint: wordValue(request.constraint, '--constraint') ?? slurm.constraint ?? null,
    output,
    array: request.array === undefined ? null : arrayValue(request.array),
    command: request.command,
  };
}

function sbatchDirectives(job: ResolvedJob, profile: ClusterProfile): string {
  const options: string[] = [`--job-name=${job.name}`, `--nodes=${job.nodes}`, `--ntasks-per-node=${job.ntasksPerNode}`];
  if (job.gpusPerNode > 0) options.push(profile.slurm?.gpuRequest === 'gres' ? `--gres=gpu:${job.gpusPerNode}` : `--gpus-per-node=${job.gpusPerNode}`);
  if (job.cpusPerTask !== null) options.push(`--cpus-per-task=${job.cpusPerTask}`);
  if (job.time !== null) options.push(`--time=${job.time}`);
  if (job.partition !== null) options.push(`--partition=${job.partition}`);
  if (job.account !== null) options.push(`--account=${job.account}`);
  if (job.qos !== null) options.push(`--qos=${job.qos}`);
  if (job.constraint !== null) options.push(`--constraint=${job.constraint}`);
  if (profile.slurm?.exclusive) options.push('--exclusive');
  if (job.output !== null) options.push(`--output=${job.output}`);
  if (job.array !== null) options.push(`--array=${job.array}`);
  options.push(...(profile.slurm?.extraOptions ?? []));
  return options.map((option) => `#SBATCH ${option}`).join('\n');
}

/** Renders the job script for a request; nothing is submitted. */
export function renderJob(request: SbatchRequest): RenderedJob {
  const profile = loadProfile(request.profile);
  const job = resolveJob(request, profile);
  const template = readTemplate(job.template);
  const launchOptions = ['--profile', job.profile, '--name', job.name, ...(request.secure ? ['--secure'] : [])];
  const script = renderTemplate(
    template.text,
    {
      profile: profile.name,
      sbatch: sbatchDirectives(job, profile),
      modules: (profile.modules ?? []).map((module) => `module load ${module}`).join('\n'),
      environment: Object.entries(profile.env ?? {})
        .map(([key, value]) => `export ${key}=${shellQuote(value)}`)
        .join('\n'),
      setup: (profile.setup ?? []).join('\n'),
      node: shellQuote(process.execPath),
      joule: shellQuote(path.join(packageRoot, 'bin', 'joule.js')),
      launchOptions: shellJoin(launchOptions),
      command: shellJoin(job.command),
      name: shellQuote(job.name),
      secure: request.secure ? '1' : '0',
    },
    template.file,
  );
  return { job, script };
}

export interface SubmitResult {
  jobId: string;
  /** Set when sbatch names a federation cluster (`id;cluster`). */
  cluster: string | null;
  /** The job's exit code, with `wait` only. */
  exitCode: number | null;
}

/**
 * Submits a script through `sbatch --parsable` on its standard input (no script file is written).
 * With `wait`, sbatch waits for the job (`--wait`) and its exit code is the job's. `onSubmitted` gets the
 * job id as soon as sbatch prints it.
 */
export function submitJob(script: string, options: { wait?: boolean; sbatch?: string; env?: NodeJS.ProcessEnv; onSubmitted?(jobId: string): void } = {}): Promise<SubmitResult> {
  const sbatch = options.sbatch ?? 'sbatch';
  return new Promise((resolve, reject) => {
    const child = spawn(sbatch, ['--parsable', ...(options.wait ? ['--wait'] : [])], { stdio: ['pipe', 'pipe', 'pipe'], env: options.env ?? process.env });
    let stdout = '';
    let stderr = '';
    let jobId: string | null = null;
    let cluster: string | null = null;
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
      const line = /^(\d+)(?:;(\S+))?\s*$/m.exec(stdout);
      if (jobId === null && line) {
        jobId = line[1];
        cluster = line[2] ?? null;
        options.onSubmitted?.(jobId);
      }
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', (error: NodeJS.ErrnoException) => {
      reject(
        error.code === 'ENOENT'
          ? new JouleError('JOULE_SLURM_UNAVAILABLE', `${sbatch} not found on PATH: run joule sbatch where SLURM's client tools are installed (a login node), or use --dry-run to see the script`, { libraryError: error.message })
          : new JouleError('JOULE_SBATCH_FAILED', `cannot run ${sbatch}: ${error.message}`, { libraryError: error.message }),
      );
    });
    child.stdin.on('error', () => {
      // sbatch exited before reading the script; its exit status and stderr say why
    });
    child.stdin.end(script);
    // Stopping `joule sbatch --wait` stops the wait (sbatch's own behaviour), not the job: pass the signal on.
    let interrupted: NodeJS.Signals | null = null;
    const forward = (name: NodeJS.Signals) => {
      interrupted = name;
      child.kill(name);
    };
    process.on('SIGINT', forward);
    process.on('SIGTERM', forward);
    child.on('close', (code, signal) => {
      process.off('SIGINT', forward);
      process.off('SIGTERM', forward);
      if (interrupted && jobId !== null && options.wait) {
        reject(new JouleError('JOULE_ABORTED', `stopped waiting for job ${jobId} on ${interrupted}; the job goes on (scancel ${jobId} stops it)`, { jobId }));
        return;
      }
      if (jobId === null) {
        const said = (stderr.trim() || stdout.trim() || 'no output').replace(/\s*\n\s*/g, '; ');
        reject(new JouleError('JOULE_SBATCH_FAILED', `sbatch did not submit the job (${signal ?? `exit ${code}`}): ${said}`, { libraryError: stderr.trim() }));
        return;
      }
      // sbatch --wait exits with the job's exit code; a signal to sbatch itself means the wait was cut short.
      resolve({ jobId, cluster, exitCode: options.wait ? (code ?? 128) : null });
    });
  });
}
