// Method 1, the TDP baseline of the "ML CO2 Impact" calculator (Lacoste et al., arXiv 1910.09700).
import { cannot, missing, type MethodEstimate } from '../types';

export interface TdpInputs {
  /** Thermal design power of one device (GPU, or a CPU package when the job has no GPU), W. */
  tdpW?: number;
  devices?: number;
  durationS?: number;
  /** Offered separately: the calculator leaves PUE out of its energy. */
  pue?: number;
  hardware: 'gpu' | 'cpu';
}

/**
 * E = TDP × hours × devices. Every device is assumed at its TDP for the whole run, which is why this
 * baseline overestimates (del Rey et al. found RMSE 187 kJ against 5–8 kJ for the online methods).
 * PUE is not in it; `withPueJ` in the inputs gives E × PUE for comparison with facility figures.
 */
export function tdpEstimate(inputs: TdpInputs): MethodEstimate {
  const { tdpW, devices, durationS, pue } = inputs;
  const lacking = missing({ tdpW, devices, durationS });
  if (lacking.length > 0 || !(devices! > 0)) {
    return cannot('tdp', lacking.length ? lacking : [`devices (${inputs.hardware}s) > 0`], { hardware: inputs.hardware });
  }
  const energyJ = tdpW! * devices! * durationS!;
  return {
    method: 'tdp',
    energyJ,
    durationS,
    inputs: { hardware: inputs.hardware, tdpW: tdpW!, devices: devices!, durationS: durationS!, pue: pue ?? null, withPueJ: pue === undefined ? null : energyJ * pue },
    notes: ['PUE left out (the calculator\'s energy); withPueJ has it'],
  };
}
