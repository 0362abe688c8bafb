// Estimates before training: every method that can answer from a profile, a model and the plan, with its expected error from past runs.
import { projectFromTrace, type TraceProjectionOptions } from './from-trace';
import type { Hardware } from './hardware';
import type { LoadedTrace } from './import';
import { fitGpuHoursLaw, gpuHoursEstimate } from './methods/gpu-hours';
import { greenAlgorithmsEstimate } from './methods/green-algorithms';
import { tdpEstimate } from './methods/tdp';
import type { ModelInfo } from './model-info';
import { pipelineFlag, precisionBits, type Features, type PreRow } from './pre/features';
import { minimumRows, trainPre, type PreKind } from './pre/model';
import { cannot, type MethodEstimate } from './types';
import { validate, type Validation } from './validate';

export interface PlannedRun {
  hardware: Hardware;
  model: ModelInfo;
  /** GPUs of the job; 0 for a CPU-only job. */
  gpus: number;
  epochs: number;
  batchSize?: number;
  datasetSize?: number;
  precision?: string;
  strategy?: string;
  /** Known training time (e.g. from a previous run); else per epoch × epochs; else from history. */
  durationS?: number;
  epochDurationS?: number;
  cores?: number;
  memoryGB?: number;
}

export interface BeforeEstimate extends MethodEstimate {
  /** From validation over the history's traces (or PRE's own cross-validation): what to expect of this method. */
  expected: { mapePct: number; rmseKJ: number; n: number; from: string } | null;
}

export interface BeforeReport {
  duration: { durationS: number | null; from: string };
  devices: { hardware: 'gpu' | 'cpu'; count: number | null; nodes: number };
  estimates: BeforeEstimate[];
  validation: Validation | null;
}

function historyKey(loaded: LoadedTrace): { model?: string; profile?: string; gpus?: number } {
  const config = loaded.info?.config ?? {};
  return {
    model: typeof config.model === 'string' ? config.model : undefined,
    profile: (loaded.info?.profile as { name?: string } | undefined)?.name,
    gpus: loaded.info?.gpus,
  };
}

/** What to give for an input a method lacks, in the command's words. */
const hints: Record<string, string> = {
  durationS: 'the training time (--duration, --epoch-duration, or --history with runs of this model, profile and GPU count)',
  devices: 'the devices (--gpus; for a CPU job --cores, or node.cpuCoresPerNode in the profile)',
  cores: 'the CPU cores (--cores, or node.cpuCoresPerNode in the profile)',
  tdpW: 'the TDP (node.gpuTdpW in the profile)',
  gpuW: 'the GPU power (node.gpuTdpW in the profile)',
};

/** `validation` holds the options the history's validation runs with (fixed s, w, detection). */
export function estimateBefore(plan: PlannedRun, history: LoadedTrace[] = [], preRows: PreRow[] = [], validation: TraceProjectionOptions = {}): BeforeReport {
  const { hardware } = plan;
  const gpu = plan.gpus > 0;
  const nodes = gpu && hardware.gpusPerNode > 0 ? Math.ceil(plan.gpus / hardware.gpusPerNode) : 1;
  const cores = plan.cores ?? (hardware.cpuCoresPerNode !== undefined ? hardware.cpuCoresPerNode * nodes : undefined);
  const same = history.filter((h) => {
    const key = historyKey(h);
    return key.model === plan.model.name && key.profile === hardware.profile;
  });
  let duration: BeforeReport['duration'] = { durationS: null, from: 'unknown: give --duration or --epoch-duration, or --history with runs of this model on this profile and GPU count' };
  if (plan.durationS !== undefined) duration = { durationS: plan.durationS, from: 'given' };
  else if (plan.epochDurationS !== undefined) duration = { durationS: plan.epochDurationS * plan.epochs, from: 'given per epoch × epochs' };
  else {
    const alike = same.filter((h) => (historyKey(h).gpus ?? 0) === plan.gpus && h.trace.epochs.length > 0);
    if (alike.length > 0) {
      const perEpoch = alike.map((h) => h.trace.epochs.reduce((s, e) => s + e.endS - e.startS, 0) / h.trace.epochs.length);
      duration = { durationS: (perEpoch.reduce((a, b) => a + b, 0) / perEpoch.length) * plan.epochs, from: `mean epoch time of ${alike.length} past run(s) × epochs` };
    }
  }
  const durationS = duration.durationS ?? undefined;
  const devices = gpu ? plan.gpus : cores;
  const gpuHoursFit = fitGpuHoursLaw(
    same.map((h) => {
      const p = projectFromTrace(h);
      return { name: p.name, gpuHours: (p.devices.count * p.measured.durationS) / 3600, energyJ: p.measured.energyJ };
    }),
  );
  const duringTraining = ['epochs of this run: during training (joule train --predict-after K), or joule estimate --trace afterwards'];
  const estimates: MethodEstimate[] = [
    tdpEstimate({ hardware: gpu ? 'gpu' : 'cpu', tdpW: gpu ? hardware.gpuTdpW : hardware.cpuTdpWPerCore, devices, durationS, pue: hardware.pue }),
    greenAlgorithmsEstimate({ durationS, pue: hardware.pue, cores, coreW: hardware.cpuTdpWPerCore, gpus: plan.gpus, gpuW: hardware.gpuTdpW, memoryGB: plan.memoryGB ?? (hardware.memoryGB !== undefined ? hardware.memoryGB * nodes : undefined) }),
    cannot('carbontracker', duringTraining),
    gpuHoursEstimate(gpuHoursFit, devices, durationS, `${plan.model.name} on ${hardware.profile}`),
    cannot('online-power', duringTraining),
    cannot('step', duringTraining),
    ...(['krr', 'linear'] as PreKind[]).map((kind) => preEstimate(kind, plan, preRows, durationS)),
  ];
  for (const e of estimates) e.lacks = e.lacks?.map((name) => hints[name] ?? name);
  const validated = history.length > 0 ? validate(history, validation) : null;
  const withExpected: BeforeEstimate[] = estimates.map((e) => {
    const fromValidation = validated?.methods.find((m) => m.method === e.method && m.n > 0);
    const cv = e.inputs.cvMapePct;
    const expected = fromValidation
      ? { mapePct: fromValidation.mapePct, rmseKJ: fromValidation.rmseKJ, n: fromValidation.n, from: 'validation over --history' }
      : typeof cv === 'number'
        ? { mapePct: cv, rmseKJ: (e.inputs.cvRmseJ as number) / 1000, n: e.inputs.trainingRows as number, from: 'cross-validation (energy per epoch)' }
        : null;
    return { ...e, expected };
  });
  return { duration, devices: { hardware: gpu ? 'gpu' : 'cpu', count: devices ?? null, nodes }, estimates: withExpected, validation: validated };
}

/** PRE's features for the planned run. */
export function plannedFeatures(plan: PlannedRun): Features {
  const gpu = plan.gpus > 0;
  return {
    batchSize: plan.batchSize,
    inputSize: plan.model.inputSize,
    flopsPerSample: plan.model.flopsPerSample,
    parameters: plan.model.parameters,
    datasetSize: plan.datasetSize,
    gpuCudaCores: gpu ? plan.hardware.gpuCudaCores : 0,
    gpuMemoryGB: gpu ? plan.hardware.gpuMemoryGB : 0,
    gpuTdpW: gpu ? plan.hardware.gpuTdpW : 0,
    gpus: plan.gpus,
    precisionBits: precisionBits(plan.precision),
    pipeline: pipelineFlag(plan.strategy),
  };
}

/**
 * PRE: energy = (predicted energy per epoch) × epochs; beside it the power route, (predicted mean
 * power) × duration, when the duration is known. Both models trained on the rows given, with their
 * cross-validated errors in the inputs.
 */
function preEstimate(kind: PreKind, plan: PlannedRun, rows: PreRow[], durationS: number | undefined): MethodEstimate {
  const method = kind === 'krr' ? 'pre-krr' : 'pre-linear';
  const perEpochRows = rows.filter((r) => r.energyPerEpochJ !== undefined);
  if (perEpochRows.length < minimumRows) return cannot(method, [`${minimumRows} past runs with energy per epoch (--history runs, --pre-data CSV); have ${perEpochRows.length}`]);
  const query = plannedFeatures(plan);
  const epochModel = trainPre(rows, 'energyPerEpochJ', kind);
  const absent = epochModel.features.filter((f) => !Number.isFinite(query[f]));
  if (absent.length) return cannot(method, absent.map((f) => `${f} of the planned run`));
  let powerRouteJ: number | null = null;
  let powerCv: number | null = null;
  try {
    const powerModel = trainPre(rows, 'meanPowerW', kind);
    if (durationS !== undefined && powerModel.features.every((f) => Number.isFinite(query[f]))) powerRouteJ = powerModel.model.predict(query) * durationS;
    powerCv = powerModel.crossValidation.mapePct;
  } catch {
    // Too few rows with mean power: the epoch route stands alone.
  }
  const perEpochJ = epochModel.model.predict(query);
  return {
    method,
    energyJ: perEpochJ * plan.epochs,
    durationS: durationS ?? null,
    inputs: {
      energyPerEpochJ: perEpochJ,
      epochs: plan.epochs,
      powerRouteJ,
      trainingRows: epochModel.model.rows,
      trainingSource: epochModel.source,
      features: epochModel.features.join(','),
      lambda: epochModel.model.params?.lambda ?? null,
      gamma: epochModel.model.params?.gamma ?? null,
      cvR2: epochModel.crossValidation.r2,
      cvMapePct: epochModel.crossValidation.mapePct,
      cvRmseJ: epochModel.crossValidation.rmse * plan.epochs,
      powerCvMapePct: powerCv,
    },
    notes: epochModel.dropped.length ? [`features left out: ${epochModel.dropped.join('; ')}`] : undefined,
  };
}
