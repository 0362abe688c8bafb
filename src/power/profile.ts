// The few cluster-profile figures the energy model and the totals need (TDPs, PUE, carbon intensity).
import { JouleError } from '../errors';
import { loadProfile, type ClusterProfile } from '../slurm/profile';

export interface EnergyProfile {
  /** Which profile the figures came from, recorded next to every model figure. */
  name: string;
  /** Thermal design power of one CPU core (package TDP / cores), for the CPU-time model. */
  cpuTdpPerCoreW: number;
  /** Thermal design power of one GPU, for the utilization model when NVML is absent. */
  gpuTdpW: number;
  /** Facility energy / IT energy. */
  pue: number;
  /** Grid carbon intensity, g CO2e per kWh. */
  carbonGPerKWh: number;
  /** Where the figures come from (the cluster profile's own note, or which ones are defaults). */
  source?: string;
}

/**
 * Used when no cluster profile is given: the `local` profile's figures (10 W per server CPU core, PUE
 * 1.0, 480 g/kWh) and a 400 W data-centre GPU. Every use is labelled "default".
 */
export const defaultEnergyProfile: EnergyProfile = {
  name: 'default',
  cpuTdpPerCoreW: 10,
  gpuTdpW: 400,
  pue: 1.0,
  carbonGPerKWh: 480,
  source: 'assumed: the local profile\'s CPU, PUE and carbon figures; 400 W per GPU',
};

/** The energy figures of a cluster profile (slurm/profiles/<name>.json); a missing GPU TDP is the default's, and says so. */
export function energyProfileFrom(cluster: ClusterProfile): EnergyProfile {
  const gpuTdpW = cluster.node.gpuTdpW ?? defaultEnergyProfile.gpuTdpW;
  const notes = [cluster.energy.source, cluster.node.gpuTdpW === undefined ? `gpuTdpW not in the profile: ${gpuTdpW} W assumed` : undefined];
  return validateEnergyProfile({
    name: cluster.name,
    cpuTdpPerCoreW: cluster.node.cpuTdpWPerCore,
    gpuTdpW,
    pue: cluster.energy.pue,
    carbonGPerKWh: cluster.energy.carbonIntensityGPerKWh,
    source: notes.filter(Boolean).join('; ') || undefined,
  });
}

/** The energy profile of a cluster profile given by name or path. */
export function loadEnergyProfile(nameOrPath: string): EnergyProfile {
  return energyProfileFrom(loadProfile(nameOrPath));
}

export function validateEnergyProfile(profile: EnergyProfile): EnergyProfile {
  for (const key of ['cpuTdpPerCoreW', 'gpuTdpW', 'pue', 'carbonGPerKWh'] as const) {
    const value = profile[key];
    if (!Number.isFinite(value) || value < 0 || (key === 'pue' && value < 1)) {
      throw new JouleError('JOULE_BAD_ARGUMENT', `energy profile ${profile.name}: ${key} must be a finite number${key === 'pue' ? ' >= 1' : ' >= 0'}, got ${value}`);
    }
  }
  return profile;
}
