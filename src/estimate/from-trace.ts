// What each method would have projected from a recorded trace's beginning, beside the trace's measured energy.
import { carbontrackerEstimate } from './methods/carbontracker';
import { gpuHoursEstimate, type GpuHoursFit } from './methods/gpu-hours';
import { greenAlgorithmsEstimate } from './methods/green-algorithms';
import { onlinePowerEstimate, publishedWindowEpochs } from './methods/online-power';
import { stepEstimate } from './methods/step';
import { tdpEstimate } from './methods/tdp';
import { hardwareFrom, type Hardware } from './hardware';
import type { ClusterProfile } from '../slurm/profile';
import type { LoadedTrace } from './import';
import { stabilizingPoint, type StabilizingPoint, type StabilizingPointOptions } from './stabilizing-point';
import { epochEnergies, primarySeries, sourceOf, traceEnergy, type TraceGap, type TraceIssue } from './trace';
import type { MethodEstimate } from './types';

export interface TraceProjectionOptions {
  /** Fixed stabilizing epoch (0-based); detected when absent. */
  s?: number;
  w?: number;
  stabilizing?: StabilizingPointOptions;
  /** Hardware figures for the TDP and Green Algorithms baselines (a profile); a run's own profile otherwise. */
  hardware?: Hardware;
  /** Cores and memory the job had, for Green Algorithms (default: the run's bound CPUs, the profile's node). */
  cores?: number;
  memoryGB?: number;
  /** k of the GPU-hours law, fitted on other runs of the same model and hardware. */
  gpuHoursFit?: GpuHoursFit | null;
  /** carbontracker's monitored epochs, default 1. */
  monitoredEpochs?: number;
}

export interface TraceProjection {
  name: string;
  format: string;
  /** What was measured over the training (the epochs; the whole trace when it has none). */
  measured: {
    energyJ: number;
    source: string;
    durationS: number;
    epochs: number;
    /** Energy of the whole trace by source, with gaps. */
    traceBySource: Record<string, number>;
    /** How many gaps, the longest, and the first 50 of them. */
    gaps: number;
    longestGapS: number | null;
    firstGaps: TraceGap[];
    gapEnergyJ: number;
  };
  issues: { count: number; byKind: Record<string, number>; first: TraceIssue[] };
  stabilizing: StabilizingPoint;
  devices: { count: number; hardware: 'gpu' | 'cpu' };
  estimates: MethodEstimate[];
}

export function projectFromTrace(loaded: LoadedTrace, options: TraceProjectionOptions = {}): TraceProjection {
  const { trace, info } = loaded;
  const series = primarySeries(trace);
  const epochs = epochEnergies(trace);
  const whole = traceEnergy(trace);
  const hasEpochs = epochs.length > 0;
  const first = trace.epochs[0];
  const last = trace.epochs[trace.epochs.length - 1];
  const startS = hasEpochs ? first.startS : Math.min(...series.map((s) => s.timesS[0]));
  const endS = hasEpochs ? last.endS : Math.max(...series.map((s) => s.timesS[s.timesS.length - 1]));
  // The sources of `series` only: where anything was measured, a model series beside it is never added in.
  const counted = new Set<string>(series.map((s) => s.source));
  const measuredJ = hasEpochs ? epochs.reduce((s, e) => s + e.energyJ, 0) : Object.entries(whole.bySource).reduce((sum, [source, j]) => (counted.has(source) ? sum + j : sum), 0);
  const source = trace.epochs.find((e) => e.source)?.source ?? sourceOf(series);
  const durationS = endS - startS;
  const hardware = options.hardware ?? (info?.profile ? hardwareFrom(info.profile as unknown as ClusterProfile) : undefined);
  const gpuSeries = series.filter((s) => s.source === 'nvidia-smi' || s.source === 'nvml' || s.source === 'csv');
  const isGpu = gpuSeries.length > 0;
  const cores = options.cores ?? info?.cpus ?? (hardware?.cpuCoresPerNode !== undefined && isGpu && hardware.gpusPerNode > 0 ? Math.ceil(gpuSeries.length / hardware.gpusPerNode) * hardware.cpuCoresPerNode : undefined);
  const devices = isGpu ? info?.gpus || gpuSeries.length : cores;
  const nodes = isGpu && hardware && hardware.gpusPerNode > 0 ? Math.ceil(gpuSeries.length / hardware.gpusPerNode) : 1;
  const plannedEpochs = hasEpochs ? epochs.length : undefined;
  const stabilizing = stabilizingPoint(trace, { ...options.stabilizing, fixedIndex: options.s ?? options.stabilizing?.fixedIndex });
  const choice = { s: stabilizing.index, w: options.w ?? publishedWindowEpochs };
  const byKind: Record<string, number> = {};
  for (const issue of trace.issues) byKind[issue.kind] = (byKind[issue.kind] ?? 0) + 1;
  const noEpochs = (method: MethodEstimate['method']): MethodEstimate => ({ method, energyJ: null, inputs: {}, lacks: ['epoch boundaries (--epochs-file, or epochs.jsonl in a run)'] });
  const estimates: MethodEstimate[] = [
    tdpEstimate({ hardware: isGpu ? 'gpu' : 'cpu', tdpW: isGpu ? hardware?.gpuTdpW : hardware?.cpuTdpWPerCore, devices, durationS, pue: hardware?.pue }),
    greenAlgorithmsEstimate({
      durationS,
      pue: hardware?.pue,
      cores,
      coreW: hardware?.cpuTdpWPerCore,
      gpus: isGpu ? devices : 0,
      gpuW: hardware?.gpuTdpW,
      memoryGB: options.memoryGB ?? (hardware?.memoryGB !== undefined ? hardware.memoryGB * nodes : undefined),
    }),
    hasEpochs ? carbontrackerEstimate(epochs, plannedEpochs, options.monitoredEpochs ?? 1) : noEpochs('carbontracker'),
    gpuHoursEstimate(options.gpuHoursFit ?? null, devices, durationS, 'this model on this hardware'),
    hasEpochs ? onlinePowerEstimate(epochs, choice, plannedEpochs) : noEpochs('online-power'),
    hasEpochs ? stepEstimate(epochs, choice, plannedEpochs) : noEpochs('step'),
  ];
  for (const e of estimates) {
    if (e.energyJ === null && (e.method === 'tdp' || e.method === 'green-algorithms') && !hardware) e.lacks = [...(e.lacks ?? []), 'a profile (--profile) with the hardware\'s TDPs'];
  }
  return {
    name: trace.name,
    format: trace.format,
    measured: {
      energyJ: measuredJ,
      source,
      durationS,
      epochs: epochs.length,
      traceBySource: whole.bySource,
      gaps: whole.gaps.length,
      longestGapS: whole.gaps.length ? Math.max(...whole.gaps.map((g) => g.durationS)) : null,
      firstGaps: whole.gaps.slice(0, 50),
      gapEnergyJ: whole.gapEnergyJ,
    },
    issues: { count: trace.issues.length, byKind, first: trace.issues.slice(0, 20) },
    stabilizing,
    devices: { count: devices ?? 0, hardware: isGpu ? 'gpu' : 'cpu' },
    estimates,
  };
}
