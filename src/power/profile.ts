// The few cluster-profile figures the energy model and the totals need (TDPs, PUE, carbon intensity).
import { JouleError } from '../errors';

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
}

/**
 * Used when no cluster profile says otherwise: a 2023-era server CPU (about 250 W over 32 cores), a
 * 400 W data-centre GPU, PUE 1.0 (IT energy only, so facility energy is not inflated by a guess) and
 * the 2023 world-average grid intensity of about 480 g/kWh (Ember). Every use is labelled "default".
 */
export const defaultEnergyProfile: EnergyProfile = {
  name: 'default',
  cpuTdpPerCoreW: 8,
  gpuTdpW: 400,
  pue: 1.0,
  carbonGPerKWh: 480,
};

export function validateEnergyProfile(profile: EnergyProfile): EnergyProfile {
  for (const key of ['cpuTdpPerCoreW', 'gpuTdpW', 'pue', 'carbonGPerKWh'] as const) {
    const value = profile[key];
    if (!Number.isFinite(value) || value < 0 || (key === 'pue' && value < 1)) {
      throw new JouleError('JOULE_BAD_ARGUMENT', `energy profile ${profile.name}: ${key} must be a finite number${key === 'pue' ? ' >= 1' : ' >= 0'}, got ${value}`);
    }
  }
  return profile;
}
