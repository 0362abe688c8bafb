// What the estimators need to know about the hardware, read from a cluster profile through the profile loader.
import { loadProfile, type ClusterProfile } from '../slurm/profile';

export interface Hardware {
  profile: string;
  gpusPerNode: number;
  gpuModel?: string;
  gpuTdpW?: number;
  gpuMemoryGB?: number;
  gpuCudaCores?: number;
  cpuCoresPerNode?: number;
  cpuTdpWPerCore: number;
  /** Memory of one node, GB. */
  memoryGB?: number;
  /** Absent in a run.json that recorded a partial profile. */
  pue?: number;
  carbonGPerKWh?: number;
}

/** CUDA cores by GPU model, from NVIDIA's datasheets; matched on the profile's gpuModel. */
const cudaCores: [RegExp, number][] = [
  [/H100.*PCIe/i, 14592],
  [/H100/i, 16896],
  [/A100/i, 6912],
  [/V100/i, 5120],
];

function optionalNumber(node: Record<string, unknown>, key: string): number | undefined {
  const value = node[key];
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

/** Read loosely: profiles gain fields, and a run.json may hold an older or partial copy. */
export function hardwareFrom(profile: ClusterProfile): Hardware {
  const node = (profile.node ?? {}) as unknown as Record<string, unknown>;
  const energy = (profile.energy ?? {}) as unknown as Record<string, unknown>;
  const gpuModel = typeof node.gpuModel === 'string' ? node.gpuModel : undefined;
  return {
    profile: typeof profile.name === 'string' ? profile.name : 'unnamed',
    gpusPerNode: optionalNumber(node, 'gpusPerNode') ?? 0,
    gpuModel,
    gpuTdpW: optionalNumber(node, 'gpuTdpW'),
    gpuMemoryGB: optionalNumber(node, 'gpuMemoryGB'),
    gpuCudaCores: optionalNumber(node, 'gpuCudaCores') ?? cudaCores.find(([pattern]) => gpuModel && pattern.test(gpuModel))?.[1],
    cpuCoresPerNode: optionalNumber(node, 'cpuCoresPerNode'),
    cpuTdpWPerCore: optionalNumber(node, 'cpuTdpWPerCore') ?? NaN,
    memoryGB: optionalNumber(node, 'memoryGB'),
    pue: optionalNumber(energy, 'pue'),
    carbonGPerKWh: optionalNumber(energy, 'carbonIntensityGPerKWh'),
  };
}

/** The hardware of a profile given by name (slurm/profiles/<name>.json) or path. */
export function loadHardware(nameOrPath: string): Hardware {
  return hardwareFrom(loadProfile(nameOrPath));
}
