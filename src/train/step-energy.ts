// A training step's energy, job-wide: each rank's power windows (the step, its compute and its
// communication), summed over ranks by the per-step metrics allreduce, measured and modelled kept apart.
import type { PowerWindows, WindowResult } from '../power/types';

// Job-wide step energy travels in the metrics allreduce this many steps late, so no rank waits for the
// sampler's next tick; every rank uses the same lag, so the buffers always match.
export const ENERGY_LAG = 2;

/** Per-rank window figures in the order they travel in the metrics buffer. */
// The figure counts say whether a source measured at all: a window it measured at 0 J (a counter that did
// not tick within a short step) is a measurement of 0 J, not a missing one.
export const ENERGY_FIELDS = ['nvmlJ', 'raplJ', 'modelJ', 'nvmlFigures', 'raplFigures', 'computeMeasuredJ', 'computeModelJ', 'commMeasuredJ', 'commModelJ'] as const;
export type EnergyFields = Record<(typeof ENERGY_FIELDS)[number], number>;

export const zeroEnergy = (): EnergyFields => Object.fromEntries(ENERGY_FIELDS.map((f) => [f, 0])) as EnergyFields;

/** Opens and closes a step's nested windows; their results resolve later, when samples past their ends arrive. */
export class StepWindows {
  private compute?: Promise<WindowResult>;
  private comm?: Promise<WindowResult>;

  constructor(private readonly power: PowerWindows | undefined) {
    power?.begin('step');
  }

  beginCompute(): void {
    this.power?.begin('compute');
  }

  endCompute(): void {
    if (this.power) this.compute = this.power.end();
  }

  beginComm(): void {
    this.power?.begin('comm');
  }

  endComm(): void {
    if (this.power) this.comm = this.power.end();
  }

  /** Ends the step window; the promise gives this rank's figures once every window has its samples. */
  end(): Promise<EnergyFields> {
    if (!this.power) return Promise.resolve(zeroEnergy());
    const step = this.power.end();
    return Promise.all([step, this.compute, this.comm]).then(([s, compute, comm]) => {
      const fields = zeroEnergy();
      for (const figure of s.figures) {
        if (figure.source === 'model') fields.modelJ += figure.energyJ;
        else if (figure.source === 'rapl') {
          fields.raplJ += figure.energyJ;
          fields.raplFigures += 1;
        } else {
          fields.nvmlJ += figure.energyJ;
          fields.nvmlFigures += 1;
        }
      }
      if (compute) [fields.computeMeasuredJ, fields.computeModelJ] = [compute.energyJ ?? 0, compute.modelEnergyJ ?? 0];
      if (comm) [fields.commMeasuredJ, fields.commModelJ] = [comm.energyJ ?? 0, comm.modelEnergyJ ?? 0];
      return fields;
    });
  }
}

export type EnergySourceLabel = 'nvml' | 'rapl' | 'nvml+rapl' | 'model' | 'none';

/** The job-wide energy of one step, read from the summed fields. */
export interface StepEnergy {
  /** Measured joules (nvml + rapl), null when nothing was measured. */
  energyJ: number | null;
  /** Modelled joules for what was not measured, null when nothing was modelled. */
  modelEnergyJ: number | null;
  source: EnergySourceLabel;
  computeJ: number | null;
  commJ: number | null;
}

export function stepEnergy(sum: EnergyFields): StepEnergy {
  const measured = sum.nvmlJ + sum.raplJ;
  const nvml = sum.nvmlFigures > 0;
  const rapl = sum.raplFigures > 0;
  const source: EnergySourceLabel = nvml && rapl ? 'nvml+rapl' : nvml ? 'nvml' : rapl ? 'rapl' : sum.modelJ > 0 ? 'model' : 'none';
  const useMeasured = nvml || rapl;
  return {
    energyJ: useMeasured ? measured : null,
    modelEnergyJ: sum.modelJ > 0 ? sum.modelJ : null,
    source,
    // The split follows the headline figure: measured when the step was measured, else the model's.
    computeJ: useMeasured ? sum.computeMeasuredJ : sum.modelJ > 0 ? sum.computeModelJ : null,
    commJ: useMeasured ? sum.commMeasuredJ : sum.modelJ > 0 ? sum.commModelJ : null,
  };
}
