// Every JOULE_* environment variable joule reads: name, parser, default and meaning, in one list. Readers
// go through readEnv(), which rejects a bad value with JOULE_BAD_ARGUMENT; README's table is envTable().
import { JouleError } from './errors';

interface Setting<T> {
  /** Turns the raw text into a value, or returns why it cannot (the reader throws with the name). */
  parse(raw: string): T | { invalid: string };
  /** The value when the variable is unset or empty; undefined: none (the reader decides). */
  fallback?: T;
  /** For the table: the default as users write it. */
  defaultText?: string;
  /** Who sets it: a user (or job script), the launcher for its ranks, or the tests. */
  setBy: 'user' | 'launcher' | 'tests';
  /** Read by native code (getenv) or a shell script rather than through readEnv; listed for the table and checked here too. */
  readBy?: 'native' | 'job script' | 'tests';
  meaning: string;
}

const invalid = (why: string) => ({ invalid: why });

function text(raw: string): string {
  return raw;
}

function oneOf<const T extends string>(...values: T[]): ((raw: string) => T | { invalid: string }) & { values: T[] } {
  const parse = (raw: string) => ((values as string[]).includes(raw) ? (raw as T) : invalid(`must be one of ${values.join(', ')}`));
  return Object.assign(parse, { values });
}

function number(options: { min: number; integer?: boolean; above?: boolean; unit?: string }): (raw: string) => number | { invalid: string } {
  return (raw) => {
    const value = Number(raw);
    const ok = raw.trim() !== '' && Number.isFinite(value) && (options.above ? value > options.min : value >= options.min) && (!options.integer || Number.isInteger(value));
    const what = `${options.integer ? 'an integer' : 'a number'}${options.unit ? ` of ${options.unit}` : ''} ${options.above ? '>' : '>='} ${options.min}`;
    return ok ? value : invalid(`must be ${what}`);
  };
}

function endpoint(raw: string): { host: string; port: number } | { invalid: string } {
  const match = /^tcp:\/\/([^:]+):(\d+)$/.exec(raw);
  return match ? { host: match[1], port: Number(match[2]) } : invalid('must look like tcp://HOST:PORT');
}

function json(raw: string): unknown {
  try {
    return JSON.parse(raw) as unknown;
  } catch (error) {
    return invalid(`is not JSON (${(error as Error).message})`);
  }
}

const flag = (raw: string) => (raw === '1' ? true : raw === '0' ? false : invalid('must be 1 or 0'));
const bytes = number({ min: 4096, integer: true, unit: 'bytes' });
const seconds = number({ min: 0, unit: 'seconds' });
const rankNumber = number({ min: 0, integer: true });

const registry = {
  // Where ranks find each other (set by `joule launch` for its ranks; bare srun ranks use SLURM's own).
  JOULE_LAUNCHER: { parse: oneOf('local', 'srun'), setBy: 'launcher', meaning: '`local` or `srun` when started by `joule launch`' },
  JOULE_RANK: { parse: rankNumber, setBy: 'launcher', meaning: "this rank (the local launcher's; under srun SLURM's variables are used)" },
  JOULE_SIZE: { parse: number({ min: 1, integer: true }), setBy: 'launcher', meaning: 'the number of ranks' },
  JOULE_LOCAL_RANK: { parse: rankNumber, setBy: 'launcher', meaning: "the rank's index on its node" },
  JOULE_LOCAL_SIZE: { parse: number({ min: 1, integer: true }), setBy: 'launcher', meaning: 'ranks on this node' },
  JOULE_NODE_RANK: { parse: rankNumber, fallback: 0, defaultText: '0', setBy: 'launcher', meaning: "the node's index (pretend nodes included)" },
  JOULE_NODES: { parse: number({ min: 1, integer: true }), fallback: 1, defaultText: '1', setBy: 'launcher', meaning: 'nodes in the job' },
  JOULE_HOST: { parse: text, setBy: 'launcher', meaning: "this rank's host name (default: the OS's, or SLURMD_NODENAME)" },
  JOULE_COORD: { parse: endpoint, setBy: 'launcher', meaning: '`tcp://HOST:PORT` of the coordinator (bare srun: overrides the derived address)' },
  JOULE_ACTIVITY_FD: { parse: number({ min: 3, integer: true }), setBy: 'launcher', meaning: 'the pipe a rank writes each `setActivity` to at once, so a crash right after still names it' },
  JOULE_JOB_SECRET: { parse: text, setBy: 'launcher', meaning: 'the job secret (set by the launcher or the job script; at least 32 characters)' },
  JOULE_SECURE: { parse: flag, fallback: false, defaultText: '0', setBy: 'launcher', meaning: '`1`: coordinator traffic encrypted with CURVE' },
  JOULE_IFACE: { parse: text, setBy: 'user', meaning: 'network interface the coordinator and tcp collectives use across nodes (`--iface`)' },
  JOULE_RUN_DIR: { parse: text, setBy: 'launcher', meaning: 'the run directory (bare srun: where rank 0 writes the record)' },
  JOULE_RUN_ID: { parse: text, setBy: 'launcher', meaning: "the run's id" },
  JOULE_HEARTBEAT_S: { parse: number({ min: 0.05, unit: 'seconds' }), fallback: 2, defaultText: '2', setBy: 'launcher', meaning: 'seconds between heartbeats, both ways (`--heartbeat`)' },
  JOULE_HEARTBEAT_MISSES: { parse: number({ min: 1, integer: true }), fallback: 3, defaultText: '3', setBy: 'launcher', meaning: 'missed heartbeats after which a rank or the coordinator counts as dead' },
  JOULE_JOIN_TIMEOUT_S: { parse: seconds, fallback: 120, defaultText: '120', setBy: 'launcher', meaning: 'seconds for every rank to call `joule.init()` (0: no limit)' },
  JOULE_BARRIER_TIMEOUT_S: { parse: seconds, fallback: 600, defaultText: '600', setBy: 'user', meaning: "a barrier's default timeout in seconds" },
  JOULE_CPU_BIND: { parse: oneOf('none'), setBy: 'user', meaning: '`none`: do not bind this rank to its share of the node\'s CPUs' },
  JOULE_GPU_COUNT: { parse: number({ min: 0, integer: true }), setBy: 'user', meaning: 'GPUs on this node, instead of counting `/dev/nvidiaN`' },
  // Collectives.
  JOULE_COMM_BACKEND: { parse: oneOf('auto', 'shm', 'tcp', 'nccl'), fallback: 'auto', defaultText: 'auto', setBy: 'user', meaning: "`world.comm`'s backend" },
  JOULE_COMM_TIMEOUT_S: { parse: number({ min: 0, above: true, unit: 'seconds' }), fallback: 300, defaultText: '300', setBy: 'user', meaning: "`world.comm`'s default operation timeout in seconds" },
  JOULE_SHM_CHUNK_BYTES: { parse: bytes, fallback: 256 * 1024, defaultText: '262144', setBy: 'user', meaning: 'shm: bytes per rank per pipeline stage' },
  JOULE_SHM_SMALL_BYTES: { parse: bytes, fallback: 32 * 1024, defaultText: '32768', setBy: 'user', meaning: 'shm: reductions up to this size take one step' },
  JOULE_TCP_PIECE_BYTES: { parse: bytes, fallback: 256 * 1024, defaultText: '262144', setBy: 'user', meaning: 'tcp: bytes per pipelined piece' },
  JOULE_TCP_SMALL_BYTES: { parse: bytes, fallback: 64 * 1024, defaultText: '65536', setBy: 'user', meaning: 'tcp: reductions up to this size use recursive doubling' },
  JOULE_TCP_HALVING_BYTES: { parse: bytes, fallback: 2 * 1024 * 1024, defaultText: '2097152', setBy: 'user', meaning: 'tcp: reductions up to this size use halving-doubling (4 or more ranks)' },
  // Energy.
  JOULE_POWER: { parse: oneOf('on', 'off'), fallback: 'on', defaultText: 'on', setBy: 'user', meaning: '`off`: ranks do not start the power monitor' },
  JOULE_ENERGY_PROFILE: { parse: json, setBy: 'launcher', meaning: 'the energy figures (TDPs, PUE, carbon intensity) as JSON, from `--profile`' },
  JOULE_IDLE_BASELINE_S: { parse: seconds, fallback: 0, defaultText: '0', setBy: 'launcher', meaning: 'seconds of idle power each rank measures before the run (`--idle-baseline`)' },
  JOULE_POWERCAP_ROOT: { parse: text, fallback: '/sys/class/powercap', defaultText: '/sys/class/powercap', setBy: 'user', readBy: 'native', meaning: 'the powercap tree RAPL counters are read from' },
  // Native libraries and paths.
  JOULE_ADDON: { parse: text, setBy: 'user', meaning: 'path of `joule.node` to load instead of `build/Release` or `build/Debug`' },
  JOULE_NVML_LIBRARY: { parse: text, setBy: 'user', readBy: 'native', meaning: 'path of `libnvidia-ml.so.1` to load instead of the default search' },
  JOULE_NCCL_LIBRARY: { parse: text, setBy: 'user', readBy: 'native', meaning: 'path of `libnccl.so.2` to load instead of the default search' },
  JOULE_CUDA_LIBRARY: { parse: text, setBy: 'user', readBy: 'native', meaning: 'path of `libjoule_cuda.so` (default: next to `joule.node`)' },
  JOULE_CAST_PATH: { parse: oneOf('scalar', 'avx2', 'avx512bf16', 'avx512'), setBy: 'user', readBy: 'native', meaning: 'force one CPU cast path (default: the best this CPU runs)' },
  // Training.
  JOULE_TRAIN_PROGRESS: { parse: oneOf('pipe'), setBy: 'launcher', meaning: '`pipe`: rank 0 of `joule train` sends progress as marked lines for the launcher to show' },
  // Diagnostics.
  // Read while an error is being reported, so it accepts any value rather than fail there.
  JOULE_DEBUG: { parse: (raw: string) => raw !== '0', fallback: false, defaultText: '0', setBy: 'user', meaning: 'any value but `0`: errors print their stack, and a rank that loses its coordinator keeps Node.js\'s own report' },
  // Job scripts and tests.
  JOULE_NODE: { parse: text, setBy: 'user', readBy: 'job script', meaning: 'the Node.js a `joule sbatch` job script runs (default: the one that rendered it)' },
  JOULE_KEEP_SLURM: { parse: flag, setBy: 'tests', readBy: 'tests', meaning: "`1`: the SLURM tests keep their private cluster's folder (logs, configuration)" },
  JOULE_TEST_STAGE_EXIT: { parse: (raw: string) => (/^\d+:\d+$/.test(raw) ? raw : invalid('must be RANK:STEP')), setBy: 'tests', meaning: 'tests only: `RANK:STEP`, that pipeline rank exits at the start of that step (checks that a dead stage ends the job)' },
  JOULE_TEST_DIVERGE: { parse: (raw: string) => (/^\d+:\d+$/.test(raw) ? raw : invalid('must be RANK:STEP')), setBy: 'tests', meaning: 'tests only: `RANK:STEP`, that rank perturbs its weights at that step (checks divergence detection)' },
} satisfies Record<`JOULE_${string}`, Setting<unknown>>;

export type EnvName = keyof typeof registry;
type Parsed<N extends EnvName> = Exclude<ReturnType<(typeof registry)[N]['parse']>, { invalid: string }>;
/** A variable with a default always has a value; one without may be undefined. */
type Value<N extends EnvName> = (typeof registry)[N] extends { fallback: unknown } ? Parsed<N> : Parsed<N> | undefined;

/** The names, in the registry's order. */
export const envNames = Object.keys(registry) as EnvName[];

/**
 * The variable's value, parsed; its default when unset or empty (undefined when it has none). A value
 * the parser refuses is an error with code JOULE_BAD_ARGUMENT that names the variable and the rule.
 */
export function readEnv<N extends EnvName>(name: N, env: NodeJS.ProcessEnv = process.env): Value<N> {
  const setting: Setting<unknown> = registry[name];
  const raw = env[name];
  if (raw === undefined || raw === '') return setting.fallback as Value<N>;
  const value = setting.parse(raw);
  if (typeof value === 'object' && value !== null && 'invalid' in value && Object.keys(value).length === 1) {
    throw new JouleError('JOULE_BAD_ARGUMENT', `${name}="${raw}" ${(value as { invalid: string }).invalid}`);
  }
  return value as Value<N>;
}

/** A variable's default (for flags whose default is the variable's). */
export function envDefault<N extends EnvName>(name: N): Value<N> {
  return (registry[name] as Setting<unknown>).fallback as Value<N>;
}

/** Validates every variable that is set (native code and job scripts read theirs raw, so check them up front). */
export function checkEnv(names: readonly EnvName[] = envNames, env: NodeJS.ProcessEnv = process.env): void {
  for (const name of names) readEnv(name, env);
}

/** Names users (and job scripts) set: the launcher checks them before any rank starts, since a rank that never calls joule.init() would never read them. */
export const userEnvNames = envNames.filter((name) => (registry[name] as Setting<unknown>).setBy === 'user');

/** Names native code reads with getenv (checked in TypeScript before the addon loads). */
export const nativeEnvNames = envNames.filter((name) => (registry[name] as Setting<unknown>).readBy === 'native');

/** The README's table of environment variables, generated from the registry. */
export function envTable(): string {
  const rows = envNames.map((name) => {
    const setting: Setting<unknown> = registry[name];
    const who = setting.setBy === 'user' ? 'you' : setting.setBy === 'launcher' ? 'launcher' : 'tests';
    const values = (setting.parse as { values?: string[] }).values;
    const choices = values && values.length > 1 ? ` (one of ${values.map((v) => `\`${v}\``).join(', ')})` : '';
    return `| \`${name}\` | ${setting.defaultText === undefined ? '' : `\`${setting.defaultText}\``} | ${who} | ${setting.meaning}${choices} |`;
  });
  return ['| Variable | Default | Set by | Meaning |', '| --- | --- | --- | --- |', ...rows].join('\n');
}
