// The capability report behind `joule info`: versions, build, backends and why not, GPUs, CPU, SLURM.
import fs from 'node:fs';
import os from 'node:os';
import { native, type NativeCapabilities } from '../native';
import { packageVersion } from '../paths';

export type BackendName = 'nvml' | 'nccl' | 'cuda' | 'rapl' | 'shm' | 'tcp';
export const backendNames: readonly BackendName[] = ['nvml', 'nccl', 'cuda', 'rapl', 'shm', 'tcp'];

export interface CapabilityReport {
  versions: { joule: string; node: string; napi: number; addon: string };
  build: { system: string; napiVersion: number; cuda: string; addonDir: string };
  backends: Omit<NativeCapabilities, 'nvml' | 'simd'> & { nvml: Omit<NativeCapabilities['nvml'], 'gpus'> };
  gpus: NativeCapabilities['nvml']['gpus'];
  cpu: { model: string; cores: number; simd: string[] };
  /** Every SLURM_* variable, when inside a SLURM job; null otherwise. */
  slurm: Record<string, string> | null;
}

export function slurmEnvironment(env: NodeJS.ProcessEnv = process.env): Record<string, string> | null {
  if (!env.SLURM_JOB_ID) return null;
  return Object.fromEntries(
    Object.entries(env)
      .filter((entry): entry is [string, string] => entry[0].startsWith('SLURM_') && entry[1] !== undefined)
      .sort(([a], [b]) => a.localeCompare(b)),
  );
}

/** Where the NVIDIA kernel driver says it is loaded; absent on machines without one. */
export const driverVersionFile = '/proc/driver/nvidia/version';

/**
 * The CUDA runtime answers "driver version is insufficient" (error 35) when there is no driver at all: on
 * such a machine, say that, keeping CUDA's own words after it.
 */
export function withoutDriverBlame<T extends { usable: boolean; reason?: string }>(cuda: T, driverLoaded = fs.existsSync(driverVersionFile)): T {
  if (cuda.usable || driverLoaded || !/driver error 35\b/.test(cuda.reason ?? '')) return cuda;
  return { ...cuda, reason: `no NVIDIA driver loaded (no ${driverVersionFile}), so no CUDA device; the CUDA runtime said: ${cuda.reason}` };
}

export async function capabilityReport(): Promise<CapabilityReport> {
  const addon = native();
  const build = addon.buildInfo();
  const caps = await addon.capabilities();
  const { gpus, ...nvml } = caps.nvml;
  const cpus = os.cpus();
  return {
    versions: {
      joule: packageVersion,
      node: process.version,
      napi: Number(process.versions.napi),
      addon: addon.addonVersion,
    },
    build: { system: build.buildSystem, napiVersion: build.napiVersion, cuda: build.cudaBuild, addonDir: build.addonDir },
    backends: { nvml, nccl: caps.nccl, cuda: withoutDriverBlame(caps.cuda), rapl: caps.rapl, shm: caps.shm, tcp: caps.tcp },
    gpus,
    cpu: { model: cpus[0]?.model ?? 'unknown', cores: cpus.length, simd: caps.simd },
    slurm: slurmEnvironment(),
  };
}
