// A sweep's plan: grid dimensions from --grid or a sweep file, expanded into points (cartesian product × repeats), each with its command.
import fs from 'node:fs';
import path from 'node:path';
import { JouleError } from '../errors';
import { packageRoot } from '../paths';

export type ParamValue = string | number;

/** Grid names joule itself acts on instead of (or besides) substituting them into the command. */
export const RANKS_PARAMS = ['gpus', 'ntasks'] as const;
export const POWER_LIMIT_PARAM = 'power-limit';

export interface SweepSpec {
  /** The command; `{name}` placeholders take the point's values. A first word `train` means `joule train`. */
  command: string[];
  grid: Record<string, ParamValue[]>;
  repeat: number;
  /** Ranks when no gpus/ntasks dimension says otherwise (default: the launcher's). */
  ntasks?: number;
}

export interface SweepPoint {
  index: number;
  /** Directory-safe and stable: the index, the values and the repeat. */
  id: string;
  params: Record<string, ParamValue>;
  /** 1-based. */
  repeat: number;
  /** Points that differ only by repeat share a configuration key. */
  config: string;
  ntasks: number | null;
  powerLimitW: number | null;
  /** joule train (its own launcher) or any command under joule launch. */
  kind: 'train' | 'command';
  /** The command after placeholders are filled (for train: joule train's arguments). */
  command: string[];
}

const NAME = /^[A-Za-z][A-Za-z0-9_-]*$/;

function bad(message: string, details: Record<string, unknown> = {}): JouleError {
  return new JouleError('JOULE_BAD_ARGUMENT', message, details);
}

/** A value as typed: numbers stay numbers (so 32 and 32.0 sort and compare as numbers). */
function parseValue(text: string): ParamValue {
  const trimmed = text.trim();
  return trimmed !== '' && Number.isFinite(Number(trimmed)) ? Number(trimmed) : trimmed;
}

/** `--grid name=v1,v2` flags into dimensions, in the order given. */
export function parseGridFlags(flags: readonly string[]): Record<string, ParamValue[]> {
  const grid: Record<string, ParamValue[]> = {};
  for (const flag of flags) {
    const match = /^([^=]+)=(.*)$/.exec(flag);
    if (!match) throw bad(`--grid ${JSON.stringify(flag)} must be name=v1,v2,...`);
    const [, name, list] = match;
    if (!NAME.test(name)) throw bad(`--grid name ${JSON.stringify(name)} must start with a letter and hold letters, digits, '_' or '-'`);
    if (name in grid) throw bad(`--grid ${name} is given twice; list all its values in one flag`);
    const values = list.split(',').map(parseValue);
    if (values.some((value) => value === '')) throw bad(`--grid ${name} has an empty value in ${JSON.stringify(list)}`);
    if (new Set(values.map(String)).size !== values.length) throw bad(`--grid ${name} repeats a value in ${JSON.stringify(list)}; use --repeat for repeats`);
    grid[name] = values;
  }
  return grid;
}

/** A sweep file: {"command": [...], "grid": {"name": [values]}, "repeat": 3, "ntasks": 2}. */
export function readSweepFile(file: string): SweepSpec {
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (error) {
    throw bad(`cannot read sweep file ${file}: ${(error as Error).message}`, { file });
  }
  const spec = raw as Partial<SweepSpec> & Record<string, unknown>;
  const problems: string[] = [];
  for (const key of Object.keys(spec)) if (!['command', 'grid', 'repeat', 'ntasks'].includes(key)) problems.push(`${key}: unknown field (known: command, grid, repeat, ntasks)`);
  if (!Array.isArray(spec.command) || spec.command.length === 0 || spec.command.some((word) => typeof word !== 'string')) problems.push('command: must be a non-empty list of strings');
  if (typeof spec.grid !== 'object' || spec.grid === null || Array.isArray(spec.grid)) problems.push('grid: must map names to lists of values');
  else {
    for (const [name, values] of Object.entries(spec.grid)) {
      if (!NAME.test(name)) problems.push(`grid.${name}: names start with a letter and hold letters, digits, '_' or '-'`);
      if (!Array.isArray(values) || values.length === 0 || values.some((v) => typeof v !== 'string' && typeof v !== 'number')) problems.push(`grid.${name}: must be a non-empty list of strings or numbers`);
    }
  }
  if (spec.repeat !== undefined && (!Number.isSafeInteger(spec.repeat) || spec.repeat < 1)) problems.push('repeat: must be an integer >= 1');
  if (spec.ntasks !== undefined && (!Number.isSafeInteger(spec.ntasks) || spec.ntasks < 1)) problems.push('ntasks: must be an integer >= 1');
  if (problems.length) throw bad(`sweep file ${file} is invalid:\n  ${problems.join('\n  ')}`, { file, problems });
  return { command: spec.command as string[], grid: spec.grid as Record<string, ParamValue[]>, repeat: spec.repeat ?? 1, ntasks: spec.ntasks };
}

function placeholders(command: readonly string[]): Set<string> {
  const names = new Set<string>();
  for (const word of command) for (const match of word.matchAll(/\{([A-Za-z][A-Za-z0-9_-]*)\}/g)) names.add(match[1]);
  return names;
}

function positiveInteger(name: string, value: ParamValue): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) throw bad(`--grid ${name} values must be integers >= 1, got ${JSON.stringify(value)}`);
  return value;
}

function safe(text: string): string {
  return text.replace(/[^A-Za-z0-9_.-]+/g, '_');
}

/** Every point of the sweep, in order: the grid's product (last dimension fastest), each repeated. */
export function expandSweep(spec: SweepSpec): SweepPoint[] {
  if (spec.command.length === 0) throw bad('no command to sweep: put it after `--` (joule sweep --grid lbs=32,64 -- train --lbs {lbs}), or give a sweep file');
  if (!Number.isSafeInteger(spec.repeat) || spec.repeat < 1) throw bad(`--repeat must be an integer >= 1, got ${spec.repeat}`);
  const kind = spec.command[0] === 'train' ? 'train' : 'command';
  const used = placeholders(spec.command);
  const names = Object.keys(spec.grid);
  for (const name of used) if (!(name in spec.grid)) throw bad(`the command uses {${name}} but no --grid ${name}=... gives its values`);
  const ranksNames = names.filter((name) => (RANKS_PARAMS as readonly string[]).includes(name));
  if (ranksNames.length > 1) throw bad(`--grid ${ranksNames.join(' and --grid ')} both set the rank count; keep one`);
  // Outside joule train, a value the command never sees would make points that differ in name only.
  const unused = names.filter((name) => !used.has(name) && !(RANKS_PARAMS as readonly string[]).includes(name) && name !== POWER_LIMIT_PARAM);
  if (kind === 'command' && unused.length) {
    throw bad(`--grid ${unused.join(', ')} ${unused.length > 1 ? 'are' : 'is'} not used by the command: write {${unused[0]}} where the value goes (only a "train" command takes the rest as --name value flags)`);
  }
  let combos: Record<string, ParamValue>[] = [{}];
  for (const name of names) combos = combos.flatMap((combo) => spec.grid[name].map((value) => ({ ...combo, [name]: value })));
  const width = String(combos.length * spec.repeat - 1).length;
  const points: SweepPoint[] = [];
  for (const params of combos) {
    const config = names.map((name) => `${name}=${params[name]}`).join(',') || '(single)';
    const ntasks = ranksNames.length ? positiveInteger(ranksNames[0], params[ranksNames[0]]) : spec.ntasks ?? null;
    const powerLimitW = POWER_LIMIT_PARAM in params ? Number(params[POWER_LIMIT_PARAM]) : null;
    if (powerLimitW !== null && !(powerLimitW > 0)) throw bad(`--grid ${POWER_LIMIT_PARAM} values are watts per GPU (> 0), got ${JSON.stringify(params[POWER_LIMIT_PARAM])}`);
    let command = spec.command.map((word) => word.replace(/\{([A-Za-z][A-Za-z0-9_-]*)\}/g, (_, name: string) => String(params[name])));
    if (kind === 'train') command = [...command.slice(1), ...unused.flatMap((name) => [`--${name}`, String(params[name])])];
    for (let repeat = 1; repeat <= spec.repeat; repeat++) {
      const index = points.length;
      const label = names.map((name) => `${safe(name)}${safe(String(params[name]))}`).join('-');
      points.push({ index, id: `${String(index).padStart(width, '0')}${label ? `-${label}` : ''}-r${repeat}`, params, repeat, config, ntasks, powerLimitW, kind, command });
    }
  }
  return points;
}

/** The process a point runs: joule train (its own launcher) or joule launch around the command. */
export function pointArgv(point: SweepPoint, options: { runDir: string; profile: string; name: string }): string[] {
  const joule = [process.execPath, path.join(packageRoot, 'bin', 'joule.js')];
  // joule launch needs a rank count outside an allocation (inside one, SLURM_NTASKS); joule train has its own default.
  const ntasks = point.ntasks ?? (point.kind === 'command' && !process.env.SLURM_JOB_ID ? 1 : null);
  const common = ['--run-dir', options.runDir, '--profile', options.profile, '--name', options.name, ...(ntasks === null ? [] : ['-n', String(ntasks)]), '--json'];
  return point.kind === 'train' ? [...joule, 'train', ...common, ...point.command] : [...joule, 'launch', ...common, '--', ...point.command];
}
