// Each method's error against measured energy over many traces and runs: RMSE (kJ), MAPE, worst case.
import { projectFromTrace, type TraceProjection, type TraceProjectionOptions } from './from-trace';
import type { LoadedTrace } from './import';
import { errorFigures, type ErrorFigures } from './metrics';
import { fitGpuHoursLaw } from './methods/gpu-hours';
import type { MethodName } from './types';

export interface MethodErrors extends Omit<ErrorFigures, 'rmse'> {
  method: MethodName;
  rmseKJ: number;
  /** Traces the method could not answer for, with the first reason. */
  unanswered: number;
  firstLack: string | null;
}

export interface Validation {
  traces: { name: string; measuredJ: number; source: string; epochs: number; stabilizingEpoch: number | null; stabilizingHow: string }[];
  /** Sources of the measured figures: a `model` figure is joule's model, not a measurement. */
  truthSources: string[];
  methods: MethodErrors[];
  /** RMSE of TDP over that of STEP (del Rey et al. found about 24× on their data); null when either is missing. */
  tdpOverStepRmse: number | null;
  projections: TraceProjection[];
}

/** The group a run's GPU-hours law is fitted in: the model and the hardware profile. */
function groupOf(loaded: LoadedTrace): string {
  const config = loaded.info?.config ?? {};
  const profile = (loaded.info?.profile as { name?: string } | undefined)?.name;
  return `${typeof config.model === 'string' ? config.model : 'unknown model'} on ${profile ?? 'unknown hardware'}`;
}

/**
 * Projects every trace from its beginning and compares with what it measured. The GPU-hours law is
 * fitted leave-one-out: for each trace, on the others of its group (same model, same profile).
 */
export function validate(loaded: LoadedTrace[], options: TraceProjectionOptions = {}): Validation {
  const first = loaded.map((l) => projectFromTrace(l, options));
  const groups = loaded.map(groupOf);
  const points = first.map((p, i) => ({ name: p.name, group: groups[i], gpuHours: (p.devices.count * p.measured.durationS) / 3600, energyJ: p.measured.energyJ }));
  const projections = loaded.map((l, i) => {
    const others = points.filter((p, j) => j !== i && p.group === groups[i]);
    const fit = fitGpuHoursLaw(others);
    return fit ? projectFromTrace(l, { ...options, gpuHoursFit: fit }) : first[i];
  });
  const methods = new Map<MethodName, { pairs: { name: string; predicted: number; actual: number }[]; unanswered: number; firstLack: string | null }>();
  for (const p of projections) {
    for (const e of p.estimates) {
      const entry = methods.get(e.method) ?? { pairs: [], unanswered: 0, firstLack: null };
      methods.set(e.method, entry);
      if (e.energyJ === null || !(p.measured.energyJ > 0)) {
        entry.unanswered++;
        entry.firstLack ??= e.lacks?.join('; ') ?? 'no measured energy';
      } else {
        entry.pairs.push({ name: p.name, predicted: e.energyJ, actual: p.measured.energyJ });
      }
    }
  }
  const table: MethodErrors[] = [...methods].map(([method, entry]) => {
    const { rmse, ...rest } = errorFigures(entry.pairs);
    return { method, ...rest, rmseKJ: rmse / 1000, unanswered: entry.unanswered, firstLack: entry.firstLack };
  });
  const rmseOf = (m: MethodName) => table.find((t) => t.method === m && t.n > 0)?.rmseKJ;
  const tdp = rmseOf('tdp');
  const step = rmseOf('step');
  return {
    traces: projections.map((p) => ({
      name: p.name,
      measuredJ: p.measured.energyJ,
      source: p.measured.source,
      epochs: p.measured.epochs,
      stabilizingEpoch: p.stabilizing.epoch,
      stabilizingHow: p.stabilizing.how,
    })),
    truthSources: [...new Set(projections.map((p) => p.measured.source))].sort(),
    methods: table,
    tdpOverStepRmse: tdp !== undefined && step !== undefined && step > 0 ? tdp / step : null,
    projections,
  };
}
