// Cluster profiles (slurm/profiles/<name>.json): the typed schema, its validation with clear errors, and loading by name or path.
import fs from 'node:fs';
import path from 'node:path';
import { JouleError } from '../errors';
import { packageRoot } from '../paths';

/** What `joule sbatch` puts in `#SBATCH` lines unless the command line says otherwise. */
export interface ProfileSlurm {
  partition?: string;
  account?: string;
  qos?: string;
  /** `--constraint`, e.g. a GPU feature such as `a100`. */
  constraint?: string;
  /** `--time` when none is given: minutes, MM:SS, HH:MM:SS, D-HH, D-HH:MM or D-HH:MM:SS. */
  defaultTime?: string;
  defaultNodes?: number;
  /** Ranks per node when none is given; default: gpusPerNode, or 1 on CPU-only profiles. */
  tasksPerNode?: number;
  cpusPerTask?: number;
  exclusive?: boolean;
  /** Further sbatch options, one per item, written as `#SBATCH <item>` (e.g. `--reservation=big`). */
  extraOptions?: string[];
  /** How GPUs are requested: `--gpus-per-node=N` (default) or `--gres=gpu:N` for sites that only know gres. */
  gpuRequest?: 'gpus-per-node' | 'gres';
}

/** What one node has, for GPU binding and for the energy model (figures labelled `model`, never measured). */
export interface ProfileNode {
  gpusPerNode: number;
  gpuModel?: string;
  /** Board power limit of one GPU, W: the model's ceiling when NVML cannot be read. */
  gpuTdpW?: number;
  cpuCoresPerNode?: number;
  /** CPU package TDP divided by its cores, W: the model's CPU figure when RAPL cannot be read. */
  cpuTdpWPerCore: number;
  /** Power of the rest of the node (memory, NICs, fans) per node, W, counted only by the model. */
  nodeBaseW?: number;
  gpuMemoryGB?: number;
  cpuModel?: string;
  cpuSockets?: number;
  /** TDP of one CPU package, W (cpuTdpWPerCore is this over the cores of one package). */
  cpuTdpW?: number;
  memoryGB?: number;
}

/** The network between nodes, for comparisons across clusters. */
export interface ProfileInterconnect {
  /** e.g. "InfiniBand HDR", "InfiniBand NDR", "Ethernet", "loopback". */
  kind: string;
  /** Line rate of one adapter, Gbit/s. */
  gbitPerS?: number;
  adaptersPerNode?: number;
}

export interface ProfileEnergy {
  /** Power usage effectiveness of the facility (>= 1): facility energy = IT energy × pue. */
  pue: number;
  /** Grid carbon intensity, gCO2e per kWh, for CO2e estimates. */
  carbonIntensityGPerKWh: number;
  /** Where the figures above come from (a URL, a site document, or "assumed"). */
  source?: string;
}

export interface ClusterProfile {
  /** Equal to the file name without `.json`. */
  name: string;
  description?: string;
  /** How `joule launch` starts ranks: local processes, srun, or srun only inside an allocation. */
  launcher?: 'local' | 'srun' | 'auto';
  /** Absent for the local profile: nothing to submit to. */
  slurm?: ProfileSlurm;
  /** Environment modules loaded in the job script, in order (`module load <item>`). */
  modules?: string[];
  /** Shell lines the job script runs after loading modules (e.g. activating a Node.js install). */
  setup?: string[];
  /** Variables exported in the job script and given to every rank (e.g. NCCL_SOCKET_IFNAME). */
  env?: Record<string, string>;
  node: ProfileNode;
  energy: ProfileEnergy;
  interconnect?: ProfileInterconnect;
  /** Where each figure comes from, keyed by its field path (e.g. "node.gpuTdpW": "NVIDIA A100 datasheet"). */
  sources?: Record<string, string>;
  /** The JSON schema editors check the file against (slurm/profile.schema.json); ignored by joule. */
  $schema?: string;
}

/** The JSON schema describing profiles for editors and users; validateProfile is what joule enforces. */
export const profileSchemaFile = path.join(packageRoot, 'slurm', 'profile.schema.json');

export const profilesDir = path.join(packageRoot, 'slurm', 'profiles');

/** A problem found while checking a profile; collected so one error lists all of them. */
class Problems {
  readonly list: string[] = [];
  constructor(private readonly file: string) {}
  add(field: string, message: string): void {
    this.list.push(`${field}: ${message}`);
  }
  throwIfAny(): void {
    if (this.list.length > 0) {
      throw new JouleError('JOULE_BAD_PROFILE', `profile ${this.file} is invalid:\n  ${this.list.join('\n  ')}`, {
        file: this.file,
        problems: this.list,
      });
    }
  }
}

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function checkKeys(value: Json, allowed: readonly string[], at: string, problems: Problems): void {
  for (const key of Object.keys(value)) {
    if (!allowed.includes(key)) problems.add(`${at}${key}`, `unknown field (known: ${allowed.join(', ')})`);
  }
}

/** A word sbatch and the shell take as is: no spaces, quotes or shell metacharacters. */
const plainWord = /^[A-Za-z0-9_.,:=@+%/-]+$/;
export const timePattern = /^(\d+|\d+:\d{1,2}|\d+:\d{1,2}:\d{1,2}|\d+-\d{1,2}|\d+-\d{1,2}:\d{1,2}|\d+-\d{1,2}:\d{1,2}:\d{1,2})$/;

function word(value: unknown, field: string, problems: Problems, pattern = plainWord, what = 'letters, digits and _.,:=@+%/- only'): void {
  if (value === undefined) return;
  if (typeof value !== 'string' || !pattern.test(value)) problems.add(field, `must be a string of ${what}, got ${JSON.stringify(value)}`);
}

function number(value: unknown, field: string, problems: Problems, options: { min: number; integer?: boolean; required?: boolean }): void {
  if (value === undefined) {
    if (options.required) problems.add(field, 'is required');
    return;
  }
  if (typeof value !== 'number' || !Number.isFinite(value) || value < options.min || (options.integer && !Number.isInteger(value))) {
    problems.add(field, `must be ${options.integer ? 'an integer' : 'a number'} >= ${options.min}, got ${JSON.stringify(value)}`);
  }
}

function stringList(value: unknown, field: string, problems: Problems, pattern?: RegExp): void {
  if (value === undefined) return;
  if (!Array.isArray(value)) {
    problems.add(field, 'must be a list of strings');
    return;
  }
  value.forEach((item, i) => {
    if (typeof item !== 'string' || item.length === 0 || item.includes('\n') || (pattern && !pattern.test(item))) {
      problems.add(`${field}[${i}]`, `must be a non-empty single-line string${pattern ? ' without spaces or shell characters' : ''}, got ${JSON.stringify(item)}`);
    }
  });
}

/** Checks a parsed profile against the schema; `file` names it in errors. Throws JOULE_BAD_PROFILE listing every problem. */
export function validateProfile(value: unknown, file: string, expectedName?: string): ClusterProfile {
  const problems = new Problems(file);
  if (!isObject(value)) {
    problems.add('(top)', 'must be a JSON object');
    problems.throwIfAny();
  }
  const profile = value as Json;
  checkKeys(profile, ['name', 'description', 'launcher', 'slurm', 'modules', 'setup', 'env', 'node', 'energy', 'interconnect', 'sources', '$schema'], '', problems);
  if (profile.$schema !== undefined && typeof profile.$schema !== 'string') problems.add('$schema', 'must be a string');
  if (typeof profile.name !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(profile.name)) {
    problems.add('name', `must be letters, digits, '_', '.' or '-', got ${JSON.stringify(profile.name)}`);
  } else if (expectedName !== undefined && profile.name !== expectedName) {
    problems.add('name', `is ${JSON.stringify(profile.name)} but the file is ${expectedName}.json`);
  }
  if (profile.description !== undefined && typeof profile.description !== 'string') problems.add('description', 'must be a string');
  if (profile.launcher !== undefined && !['local', 'srun', 'auto'].includes(profile.launcher as string)) {
    problems.add('launcher', `must be local, srun or auto, got ${JSON.stringify(profile.launcher)}`);
  }

  if (profile.slurm !== undefined) {
    if (!isObject(profile.slurm)) problems.add('slurm', 'must be an object');
    else {
      const s = profile.slurm;
      checkKeys(s, ['partition', 'account', 'qos', 'constraint', 'defaultTime', 'defaultNodes', 'tasksPerNode', 'cpusPerTask', 'exclusive', 'extraOptions', 'gpuRequest'], 'slurm.', problems);
      if (s.gpuRequest !== undefined && s.gpuRequest !== 'gpus-per-node' && s.gpuRequest !== 'gres') {
        problems.add('slurm.gpuRequest', `must be gpus-per-node or gres, got ${JSON.stringify(s.gpuRequest)}`);
      }
      for (const key of ['partition', 'account', 'qos', 'constraint'] as const) word(s[key], `slurm.${key}`, problems);
      word(s.defaultTime, 'slurm.defaultTime', problems, timePattern, 'minutes, MM:SS, HH:MM:SS or D-HH[:MM[:SS]]');
      number(s.defaultNodes, 'slurm.defaultNodes', problems, { min: 1, integer: true });
      number(s.tasksPerNode, 'slurm.tasksPerNode', problems, { min: 1, integer: true });
      number(s.cpusPerTask, 'slurm.cpusPerTask', problems, { min: 1, integer: true });
      if (s.exclusive !== undefined && typeof s.exclusive !== 'boolean') problems.add('slurm.exclusive', 'must be true or false');
      stringList(s.extraOptions, 'slurm.extraOptions', problems, /^--?[A-Za-z][A-Za-z0-9-]*(=[A-Za-z0-9_.,:=@+%/-]+)?$/);
    }
  }
  stringList(profile.modules, 'modules', problems, plainWord);
  stringList(profile.setup, 'setup', problems);
  if (profile.env !== undefined) {
    if (!isObject(profile.env)) problems.add('env', 'must map variable names to strings');
    else {
      for (const [key, v] of Object.entries(profile.env)) {
        if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) problems.add(`env.${key}`, 'is not a valid environment variable name');
        else if (key.startsWith('JOULE_JOB_SECRET')) problems.add(`env.${key}`, 'the job secret is made inside each job and cannot come from a profile');
        if (typeof v !== 'string' || v.includes('\n')) problems.add(`env.${key}`, 'must be a single-line string');
      }
    }
  }

  if (!isObject(profile.node)) problems.add('node', 'is required: an object with gpusPerNode and cpuTdpWPerCore');
  else {
    const n = profile.node;
    checkKeys(n, ['gpusPerNode', 'gpuModel', 'gpuTdpW', 'cpuCoresPerNode', 'cpuTdpWPerCore', 'nodeBaseW', 'gpuMemoryGB', 'cpuModel', 'cpuSockets', 'cpuTdpW', 'memoryGB'], 'node.', problems);
    for (const key of ['gpuModel', 'cpuModel'] as const) {
      if (n[key] !== undefined && (typeof n[key] !== 'string' || n[key] === '')) problems.add(`node.${key}`, 'must be a non-empty string');
    }
    number(n.gpuMemoryGB, 'node.gpuMemoryGB', problems, { min: 1 });
    number(n.cpuSockets, 'node.cpuSockets', problems, { min: 1, integer: true });
    number(n.cpuTdpW, 'node.cpuTdpW', problems, { min: 1 });
    number(n.memoryGB, 'node.memoryGB', problems, { min: 1 });
    number(n.gpusPerNode, 'node.gpusPerNode', problems, { min: 0, integer: true, required: true });
    number(n.gpuTdpW, 'node.gpuTdpW', problems, { min: 1 });
    number(n.cpuCoresPerNode, 'node.cpuCoresPerNode', problems, { min: 1, integer: true });
    number(n.cpuTdpWPerCore, 'node.cpuTdpWPerCore', problems, { min: 0.1, required: true });
    number(n.nodeBaseW, 'node.nodeBaseW', problems, { min: 0 });
    if (typeof n.gpusPerNode === 'number' && n.gpusPerNode > 0 && n.gpuTdpW === undefined) {
      problems.add('node.gpuTdpW', 'is required when gpusPerNode > 0 (the energy model needs it)');
    }
  }
  if (!isObject(profile.energy)) problems.add('energy', 'is required: an object with pue and carbonIntensityGPerKWh');
  else {
    const e = profile.energy;
    checkKeys(e, ['pue', 'carbonIntensityGPerKWh', 'source'], 'energy.', problems);
    number(e.pue, 'energy.pue', problems, { min: 1, required: true });
    number(e.carbonIntensityGPerKWh, 'energy.carbonIntensityGPerKWh', problems, { min: 0, required: true });
    if (e.source !== undefined && typeof e.source !== 'string') problems.add('energy.source', 'must be a string');
  }
  if (profile.interconnect !== undefined) {
    if (!isObject(profile.interconnect)) problems.add('interconnect', 'must be an object with kind');
    else {
      const i = profile.interconnect;
      checkKeys(i, ['kind', 'gbitPerS', 'adaptersPerNode'], 'interconnect.', problems);
      if (typeof i.kind !== 'string' || i.kind === '') problems.add('interconnect.kind', 'is required: a non-empty string such as "InfiniBand HDR"');
      number(i.gbitPerS, 'interconnect.gbitPerS', problems, { min: 0.001 });
      number(i.adaptersPerNode, 'interconnect.adaptersPerNode', problems, { min: 1, integer: true });
    }
  }
  if (profile.sources !== undefined) {
    if (!isObject(profile.sources)) problems.add('sources', 'must map field paths (such as "node.gpuTdpW") to where the figure comes from');
    else {
      for (const [field, source] of Object.entries(profile.sources)) {
        // A source for a field the profile does not have is a typo that would leave the real figure unsourced.
        const value = field.split('.').reduce<unknown>((at, key) => (isObject(at) ? at[key] : undefined), profile);
        if (value === undefined) problems.add(`sources.${field}`, 'names no field of this profile');
        if (typeof source !== 'string' || source.trim() === '') problems.add(`sources.${field}`, 'must be a non-empty string saying where the figure comes from');
      }
    }
  }
  problems.throwIfAny();
  return profile as unknown as ClusterProfile;
}

/** Profile names shipped in slurm/profiles/. */
export function knownProfiles(): string[] {
  try {
    return fs
      .readdirSync(profilesDir)
      .filter((file) => file.endsWith('.json'))
      .map((file) => file.slice(0, -'.json'.length))
      .sort();
  } catch {
    return [];
  }
}

/** The file a profile argument names: a path when it has a '/' or ends in .json, else slurm/profiles/<name>.json. */
export function profileFile(nameOrPath: string): string {
  if (nameOrPath.includes('/') || nameOrPath.endsWith('.json')) return path.resolve(nameOrPath);
  return path.join(profilesDir, `${nameOrPath}.json`);
}

/** Loads and validates a profile by name (slurm/profiles/) or by path. */
export function loadProfile(nameOrPath: string): ClusterProfile {
  const file = profileFile(nameOrPath);
  const byName = file === path.join(profilesDir, `${nameOrPath}.json`);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    const known = knownProfiles();
    throw new JouleError(
      'JOULE_UNKNOWN_PROFILE',
      byName
        ? `unknown profile "${nameOrPath}"; known profiles: ${known.join(', ') || '(none)'} (or give a path to a .json file)`
        : `cannot read profile ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
      { profile: nameOrPath, file, known },
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new JouleError('JOULE_BAD_PROFILE', `profile ${file} is not valid JSON: ${(error as Error).message}`, { file });
  }
  return validateProfile(parsed, file, byName ? nameOrPath : undefined);
}
