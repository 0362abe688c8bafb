// Method 4, the GPU-hours law (Huber et al., arXiv 2508.07706): energy ≈ k × GPU-hours, k fitted per model and hardware.
import { cannot, missing, type MethodEstimate } from '../types';

export interface GpuHoursPoint {
  name: string;
  gpuHours: number;
  energyJ: number;
}

export interface GpuHoursFit {
  /** J per GPU-hour (least squares through the origin: k = Σ E·h / Σ h²). */
  kJPerGpuHour: number;
  /** R² of E = k·h against the mean of E (may be negative for a poor fit); null with fewer than 2 runs. */
  r2: number | null;
  /** Spread of the runs' own E/h: standard deviation, lowest and highest, J per GPU-hour. */
  ratioStd: number | null;
  ratioMin: number;
  ratioMax: number;
  runs: number;
}

export function fitGpuHoursLaw(points: GpuHoursPoint[]): GpuHoursFit | null {
  const usable = points.filter((p) => p.gpuHours > 0 && Number.isFinite(p.energyJ));
  if (usable.length === 0) return null;
  const k = usable.reduce((s, p) => s + p.energyJ * p.gpuHours, 0) / usable.reduce((s, p) => s + p.gpuHours * p.gpuHours, 0);
  const mean = usable.reduce((s, p) => s + p.energyJ, 0) / usable.length;
  const residual = usable.reduce((s, p) => s + (p.energyJ - k * p.gpuHours) ** 2, 0);
  const total = usable.reduce((s, p) => s + (p.energyJ - mean) ** 2, 0);
  const ratios = usable.map((p) => p.energyJ / p.gpuHours);
  const ratioMean = ratios.reduce((a, b) => a + b, 0) / ratios.length;
  return {
    kJPerGpuHour: k,
    r2: usable.length >= 2 && total > 0 ? 1 - residual / total : null,
    ratioStd: ratios.length >= 2 ? Math.sqrt(ratios.reduce((s, r) => s + (r - ratioMean) ** 2, 0) / (ratios.length - 1)) : null,
    ratioMin: Math.min(...ratios),
    ratioMax: Math.max(...ratios),
    runs: usable.length,
  };
}

/**
 * E = k × GPUs × hours, with k from `fit` (past runs of the same model on the same hardware). The law
 * is about GPU jobs; a CPU-only run counts its ranks as the "GPUs" (devices), and says so.
 */
export function gpuHoursEstimate(fit: GpuHoursFit | null, devices: number | undefined, durationS: number | undefined, what: string): MethodEstimate {
  if (!fit) return cannot('gpu-hours', [`past runs of ${what} with energy and GPU-hours (for k)`]);
  const lacking = missing({ devices, durationS });
  if (lacking.length > 0) return cannot('gpu-hours', lacking, { kJPerGpuHour: fit.kJPerGpuHour });
  const gpuHours = (devices! * durationS!) / 3600;
  return {
    method: 'gpu-hours',
    energyJ: fit.kJPerGpuHour * gpuHours,
    durationS,
    inputs: { kJPerGpuHour: fit.kJPerGpuHour, gpuHours, devices: devices!, durationS: durationS!, fitRuns: fit.runs, fitR2: fit.r2, ratioStd: fit.ratioStd, ratioMin: fit.ratioMin, ratioMax: fit.ratioMax },
  };
}
