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
}

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
  checkKeys(profile, ['name', 'description', 'launcher', 'slurm', 'modules', 'setup', 'env', 'node', 'energy'], '', problems);
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
      checkKeys(s, ['partition', 'account', 'qos', 'constraint', 'defaultTime', 'defaultNodes', 'tasksPerNode', 'cpusPerTask', 'exclusive', 'extraOptions'], 'slurm.', problems);
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
    checkKeys(n, ['gpusPerNode', 'gpuModel', 'gpuTdpW', 'cpuCoresPerNode', 'cpuTdpWPerCore', 'nodeBaseW'], 'node.', problems);
    number(n.gpusPerNode, 'node.gpusPerNode', problems, { min: 0, integer: true, required: true });
    if (n.gpuModel !== undefined && typeof n.gpuModel !== 'string') problems.add('node.gpuModel', 'must be a string');
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
