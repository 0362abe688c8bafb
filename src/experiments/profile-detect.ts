// `joule profile detect`: a cluster profile for the machine or allocation it runs on, from what it can read (NVML, /proc, scontrol), every figure with its source.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import { capabilityReport } from '../info/report';
import { validateProfile, type ClusterProfile } from '../slurm/profile';

export interface CpuFacts {
  model: string;
  sockets: number;
  cores: number;
  /** True when physical ids and core ids were present (else cores are logical CPUs). */
  physical: boolean;
}

/** The CPU model, sockets and physical cores of a /proc/cpuinfo text (logical CPUs when a VM hides the topology). */
export function parseCpuinfo(text: string): CpuFacts {
  const blocks = text.split(/\n\s*\n/).filter((block) => /^processor\s*:/m.test(block));
  const field = (block: string, name: string) => new RegExp(`^${name}\\s*:\\s*(.*)$`, 'm').exec(block)?.[1]?.trim();
  const cores = new Set<string>();
  const sockets = new Set<string>();
  for (const block of blocks) {
    const socket = field(block, 'physical id');
    const core = field(block, 'core id');
    if (socket !== undefined && core !== undefined) {
      sockets.add(socket);
      cores.add(`${socket}/${core}`);
    }
  }
  const physical = cores.size > 0;
  return {
    model: (blocks.length ? field(blocks[0], 'model name') : undefined) ?? 'unknown',
    sockets: physical ? sockets.size : 1,
    cores: physical ? cores.size : blocks.length,
    physical,
  };
}

/** `scontrol show ... -o` prints one line of Key=Value pairs; values may hold spaces only in a few keys we do not read. */
export function parseScontrol(line: string): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const match of line.matchAll(/(\S+?)=(\S*)/g)) fields[match[1]] ??= match[2];
  return fields;
}

function scontrol(kind: 'node' | 'partition', name: string, env: NodeJS.ProcessEnv): Record<string, string> | null {
  try {
    return parseScontrol(execFileSync('scontrol', ['show', kind, name, '-o'], { env, encoding: 'utf8', timeout: 10_000, stdio: ['ignore', 'pipe', 'ignore'] }));
  } catch {
    return null;
  }
}

/** SLURM's time formats that a profile's defaultTime takes (scontrol prints 01:00:00, 1-00:00:00, or UNLIMITED/NONE). */
const slurmTime = /^(\d+-)?\d{1,2}:\d{2}:\d{2}$/;

export interface DetectOptions {
  name: string;
  env?: NodeJS.ProcessEnv;
  cpuinfoFile?: string;
}

export interface Detected {
  profile: ClusterProfile;
  /** Fields read from the machine, and fields assumed because nothing here can tell. */
  detected: string[];
  assumed: string[];
}

/** Builds (and validates) a profile from this machine; figures nothing here can read are assumed and say so. */
export async function detectProfile(options: DetectOptions): Promise<Detected> {
  const env = options.env ?? process.env;
  const host = os.hostname().split('.')[0];
  const sources: Record<string, string> = {};
  const assumed = new Set<string>();
  // A later, better source for a field replaces the earlier one, and its "assumed" mark with it.
  const set = (field: string, source: string, isAssumed = false) => {
    sources[field] = source;
    if (isAssumed) assumed.add(field);
    else assumed.delete(field);
  };

  const report = await capabilityReport();
  const gpus = report.gpus;
  const node: ClusterProfile['node'] = { gpusPerNode: gpus.length, cpuTdpWPerCore: 10 };
  set('node.gpusPerNode', report.backends.nvml.usable ? `NVML (${report.backends.nvml.library}) on ${host}: ${gpus.length} GPU(s), driver ${report.backends.nvml.driverVersion ?? 'unknown'}` : `no GPU seen: NVML unusable on ${host} (${report.backends.nvml.reason})`);
  if (gpus.length > 0) {
    const names = [...new Set(gpus.map((gpu) => gpu.name))];
    node.gpuModel = names.join(' + ');
    set('node.gpuModel', `NVML nvmlDeviceGetName on ${host}`);
    const limits = gpus.map((gpu) => gpu.powerLimitW).filter((w): w is number => w !== null);
    if (limits.length > 0) {
      node.gpuTdpW = Math.max(...limits);
      set('node.gpuTdpW', `NVML nvmlDeviceGetEnforcedPowerLimit on ${host} (the enforced board limit, ${[...new Set(limits)].join('/')} W)`);
    } else {
      node.gpuTdpW = 400;
      set('node.gpuTdpW', 'assumed: NVML gave no power limit; 400 W (A100 SXM); replace with the datasheet TDP', true);
    }
  }

  const cpuinfoFile = options.cpuinfoFile ?? '/proc/cpuinfo';
  const cpu = parseCpuinfo(fs.readFileSync(cpuinfoFile, 'utf8'));
  node.cpuModel = cpu.model;
  set('node.cpuModel', `${cpuinfoFile} on ${host}: model name`);
  node.cpuSockets = cpu.sockets;
  set('node.cpuSockets', `${cpuinfoFile} on ${host}: ${cpu.physical ? 'distinct physical ids' : 'no topology given (a VM): 1 assumed'}`, !cpu.physical);
  node.cpuCoresPerNode = Math.max(1, cpu.cores);
  set('node.cpuCoresPerNode', `${cpuinfoFile} on ${host}: ${cpu.physical ? 'distinct (physical id, core id) pairs' : 'logical CPUs (no topology given)'}`);
  set('node.cpuTdpWPerCore', `assumed: 10 W per core; look up the TDP of "${cpu.model}" and divide by its cores per socket`, true);
  node.memoryGB = Math.round(os.totalmem() / 2 ** 30);
  set('node.memoryGB', `MemTotal of ${host} (os.totalmem)`);

  const profile: ClusterProfile = {
    name: options.name,
    description: `Detected on ${host} at ${new Date().toISOString()} by joule profile detect; check every source marked "assumed".`,
    launcher: 'auto',
    node,
    energy: { pue: 1.0, carbonIntensityGPerKWh: 480, source: 'assumed: PUE 1.0 and the 2023 world-average grid (480 gCO2e/kWh, Ember); replace with your site\'s figures' },
  };
  set('energy.pue', 'assumed: 1.0; your centre publishes its PUE', true);
  set('energy.carbonIntensityGPerKWh', 'assumed: 480 gCO2e/kWh, the 2023 world average (Ember, Global Electricity Review 2024)', true);

  if (env.SLURM_JOB_ID) {
    const slurm: NonNullable<ClusterProfile['slurm']> = {};
    const nodeName = env.SLURMD_NODENAME ?? host;
    const nodeFacts = scontrol('node', nodeName, env);
    const partitionName = env.SLURM_JOB_PARTITION;
    const partition = partitionName ? scontrol('partition', partitionName, env) : null;
    if (partitionName) {
      slurm.partition = partitionName;
      set('slurm.partition', `SLURM_JOB_PARTITION of job ${env.SLURM_JOB_ID}`);
    }
    if (env.SLURM_JOB_ACCOUNT && /^[A-Za-z0-9_.-]+$/.test(env.SLURM_JOB_ACCOUNT)) {
      slurm.account = env.SLURM_JOB_ACCOUNT;
      set('slurm.account', `SLURM_JOB_ACCOUNT of job ${env.SLURM_JOB_ID}`);
    }
    if (partition && slurmTime.test(partition.DefaultTime ?? '')) {
      slurm.defaultTime = partition.DefaultTime;
      set('slurm.defaultTime', `scontrol show partition ${partitionName}: DefaultTime`);
    }
    if (nodeFacts) {
      const cpus = Number(nodeFacts.CPUTot);
      const coresPerSocket = Number(nodeFacts.CoresPerSocket);
      const socketsPerBoard = Number(nodeFacts.Sockets);
      if (Number.isSafeInteger(coresPerSocket) && coresPerSocket > 0 && Number.isSafeInteger(socketsPerBoard) && socketsPerBoard > 0) {
        node.cpuSockets = socketsPerBoard;
        node.cpuCoresPerNode = coresPerSocket * socketsPerBoard;
        set('node.cpuSockets', `scontrol show node ${nodeName}: Sockets`);
        set('node.cpuCoresPerNode', `scontrol show node ${nodeName}: Sockets x CoresPerSocket (CPUTot ${cpus})`);
      }
      const memoryMB = Number(nodeFacts.RealMemory);
      if (Number.isFinite(memoryMB) && memoryMB >= 1024) {
        node.memoryGB = Math.round(memoryMB / 1024);
        set('node.memoryGB', `scontrol show node ${nodeName}: RealMemory ${memoryMB} MB`);
      }
      const gres = /gpu(?::[^:,(]+)?:(\d+)/.exec(nodeFacts.Gres ?? '');
      if (gres) {
        slurm.gpuRequest = 'gres';
        set('slurm.gpuRequest', `scontrol show node ${nodeName}: Gres=${nodeFacts.Gres}`);
      }
      profile.description += ` SLURM node ${nodeName}${partitionName ? `, partition ${partitionName}` : ''}.`;
    }
    profile.slurm = slurm;
  }
  profile.sources = Object.fromEntries(Object.entries(sources).sort(([a], [b]) => a.localeCompare(b)));
  validateProfile(profile, `(detected ${options.name})`);
  return { profile, detected: Object.keys(sources).filter((field) => !assumed.has(field)), assumed: [...assumed] };
}
