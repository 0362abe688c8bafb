// Method 2, Green Algorithms (Lannelongue et al., Adv. Sci. 2021; green-algorithms.org).
import { cannot, missing, type MethodEstimate } from '../types';

/** W per GB of memory, Green Algorithms' figure. */
export const memoryWPerGB = 0.3725;

export interface GreenAlgorithmsInputs {
  durationS?: number;
  pue?: number;
  cores?: number;
  coreW?: number;
  /** Share of the cores' time they are busy, default 1. */
  coreUsage?: number;
  gpus?: number;
  gpuW?: number;
  gpuUsage?: number;
  /** Memory available to the job, GB; unknown: the memory term is left out, and a note says so. */
  memoryGB?: number;
}

/**
 * E = t × PUE × (n_cores × P_core × u_core + n_GPU × P_GPU × u_GPU + memory_GB × 0.3725 W).
 * Usage factors default to 1, as the calculator's. PUE is part of its formula, so this is facility
 * energy: with a profile's PUE above 1 it is that much above an IT measurement.
 */
export function greenAlgorithmsEstimate(inputs: GreenAlgorithmsInputs): MethodEstimate {
  const { durationS, pue, cores, coreW, gpus = 0, gpuW, memoryGB } = inputs;
  const coreUsage = inputs.coreUsage ?? 1;
  const gpuUsage = inputs.gpuUsage ?? 1;
  const lacking = missing({ durationS, pue, cores, coreW, ...(gpus > 0 ? { gpuW } : {}) });
  if (lacking.length > 0) return cannot('green-algorithms', lacking);
  const memoryW = memoryGB === undefined ? 0 : memoryGB * memoryWPerGB;
  const powerW = cores! * coreW! * coreUsage + gpus * (gpuW ?? 0) * gpuUsage + memoryW;
  return {
    method: 'green-algorithms',
    energyJ: durationS! * pue! * powerW,
    durationS,
    inputs: { durationS: durationS!, pue: pue!, cores: cores!, coreW: coreW!, coreUsage, gpus, gpuW: gpuW ?? null, gpuUsage, memoryGB: memoryGB ?? null, powerW },
    notes: [`includes PUE ${pue}`, ...(memoryGB === undefined ? ['memory size unknown: memory term left out'] : [])],
  };
}
