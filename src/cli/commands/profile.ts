// `joule profile list|show|validate|detect`: the cluster profiles joule knows, checked, and a new one written from the machine it runs on.
import fs from 'node:fs';
import path from 'node:path';
import type { CommandSpec } from '../command';
import { isJouleError, JouleError } from '../../errors';
import { knownProfiles, loadProfile, profileFile, profilesDir, type ClusterProfile } from '../../slurm/profile';
import { formatTable, printJson } from '../output';

interface ListArgs {
  json: boolean;
}
interface ShowArgs {
  profile: string;
  json: boolean;
}
interface ValidateArgs {
  profiles?: string[];
  json: boolean;
}
interface DetectArgs {
  name: string;
  out?: string;
  json: boolean;
}

interface Checked {
  profile: string;
  file: string;
  ok: boolean;
  problems: string[];
}

function check(nameOrPath: string): Checked {
  const file = profileFile(nameOrPath);
  try {
    loadProfile(nameOrPath);
    return { profile: nameOrPath, file, ok: true, problems: [] };
  } catch (error) {
    if (!isJouleError(error)) throw error;
    const problems = (error.details.problems as string[] | undefined) ?? [error.message];
    return { profile: nameOrPath, file, ok: false, problems };
  }
}

function summary(profile: ClusterProfile): string {
  const n = profile.node;
  const gpus = n.gpusPerNode > 0 ? `${n.gpusPerNode} x ${n.gpuModel ?? 'GPU'} (${n.gpuTdpW} W)` : 'no GPUs';
  return `${gpus}; ${n.cpuCoresPerNode ?? '?'} cores${n.cpuModel ? ` ${n.cpuModel}` : ''}; ${profile.interconnect?.kind ?? 'interconnect not given'}`;
}

/** Every leaf field of a profile as [path, value], in file order, for `show`. */
function leaves(value: unknown, at = ''): [string, string][] {
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    return Object.entries(value).flatMap(([key, child]) => (['sources', '$schema', 'description'].includes(key) ? [] : leaves(child, at ? `${at}.${key}` : key)));
  }
  return [[at, Array.isArray(value) ? value.join(', ') : String(value)]];
}

const listCommand: CommandSpec<ListArgs> = {
  command: 'list',
  describe: `The profiles in ${path.relative(process.cwd(), profilesDir) || profilesDir} (shipped ones and any you dropped there), each checked`,
  options: {
    json: { type: 'boolean', default: false, describe: 'Print the list as JSON' },
  },
  handler: (args) => {
    const rows = knownProfiles().map((name) => {
      const checked = check(name);
      const profile = checked.ok ? loadProfile(name) : null;
      return { name, file: checked.file, ok: checked.ok, problems: checked.problems, description: profile?.description ?? null, summary: profile ? summary(profile) : null };
    });
    if (args.json) return printJson(rows);
    process.stdout.write(`${formatTable([['NAME', 'NODE', 'STATUS'], ...rows.map((r) => [r.name, r.summary ?? '-', r.ok ? 'valid' : `INVALID: ${r.problems[0]}`])])}\n`);
  },
};

const showCommand: CommandSpec<ShowArgs> = {
  command: 'show <profile>',
  describe: 'Print a profile (a name or a path): every figure with its source',
  operands: {
    profile: 'A name in slurm/profiles/ or a path to a .json',
  },
  options: {
    json: { type: 'boolean', default: false, describe: 'Print the validated profile as JSON' },
  },
  handler: (args) => {
    const profile = loadProfile(args.profile);
    if (args.json) return printJson(profile);
    const sources = profile.sources ?? {};
    const energySource = profile.energy.source;
    const rows = leaves(profile).map(([field, value]) => [field, value, sources[field] ?? (field.startsWith('energy.') && energySource ? energySource : '')]);
    process.stdout.write(`${profile.name}: ${profile.description ?? ''}\n${formatTable([['FIELD', 'VALUE', 'SOURCE'], ...rows])}\n`);
  },
};

const validateCommand: CommandSpec<ValidateArgs> = {
  command: 'validate [profiles..]',
  describe: 'Check profiles (names or paths; default: every known one); a bad one is listed with each field path and what is wrong, and the exit code is 2',
  operands: {
    profiles: 'Profile names or .json paths',
  },
  options: {
    json: { type: 'boolean', default: false, describe: 'Print [{profile, file, ok, problems}] as JSON' },
  },
  handler: (args) => {
    const names = args.profiles?.length ? args.profiles.map(String) : knownProfiles();
    const results = names.map(check);
    if (args.json) printJson(results);
    else {
      for (const result of results) {
        process.stdout.write(result.ok ? `ok       ${result.file}\n` : `INVALID  ${result.file}\n${result.problems.map((p) => `  ${p}`).join('\n')}\n`);
      }
    }
    const bad = results.filter((result) => !result.ok);
    if (bad.length > 0) {
      throw new JouleError('JOULE_BAD_PROFILE', `${bad.length} of ${results.length} profile(s) invalid: ${bad.map((b) => b.profile).join(', ')}`, { profiles: bad.map((b) => b.file) });
    }
  },
};

const detectCommand: CommandSpec<DetectArgs> = {
  command: 'detect',
  describe: 'Write a profile for this machine or allocation from what it can read: GPUs and power limits (NVML), CPU (/proc/cpuinfo), partition and node (scontrol, inside a SLURM job)',
  options: {
    name: { type: 'string', default: 'detected', describe: 'The profile name (also the file name when saved next to the shipped profiles)' },
    out: { type: 'string', describe: 'Write the profile here (a .json path; a folder gets <name>.json) instead of printing it' },
    json: { type: 'boolean', default: false, describe: 'Print {profile, file, detected, assumed} as JSON' },
  },
  examples: [
    ['$0 profile detect --out my-cluster.json --name mycluster', 'Start a profile from the facts of this node'],
    ['srun -N1 $0 profile detect --name clusterA --out slurm/profiles/', 'Inside an allocation: adds partition, account, node shape from scontrol'],
  ],
  handler: async (args) => {
    if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(args.name)) throw new JouleError('JOULE_BAD_ARGUMENT', `--name must be letters, digits, '_', '.' or '-', got ${JSON.stringify(args.name)}`);
    const { detectProfile } = await import('../../experiments/profile-detect');
    const result = await detectProfile({ name: args.name });
    let file: string | null = null;
    if (args.out !== undefined) {
      file = fs.existsSync(args.out) && fs.statSync(args.out).isDirectory() ? path.join(args.out, `${args.name}.json`) : path.resolve(args.out);
      fs.writeFileSync(file, `${JSON.stringify(result.profile, null, 2)}\n`, { mode: 0o644 });
    }
    if (args.json) printJson({ ...result, file });
    else if (file === null) printJson(result.profile);
    else process.stderr.write(`joule: wrote ${file}: ${result.detected.length} figures read here; assumed (check them): ${result.assumed.join(', ') || 'none'}\n`);
  },
};

export const profileCommand: CommandSpec = {
  command: 'profile',
  describe: 'Cluster profiles: list, show, validate, detect',
  subcommands: () => [listCommand, showCommand, validateCommand, detectCommand],
};
