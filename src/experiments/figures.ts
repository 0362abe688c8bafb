// The normalized figures of a run (per device, per sample, per device-hour) and of a sweep's configurations (mean and spread over repeats).
import path from 'node:path';
import { readRun, runEnergy, runGpus, type RunData } from './run-data';
import { isSweepDir, readSweep, sweepStates } from './sweep-dir';

export interface RunFigures {
  label: string;
  dir: string;
  status: string;
  profile: string | null;
  ranks: number;
  /** GPUs, or ranks on CPU-only runs: what "per device" divides by. */
  devices: number;
  deviceKind: 'gpu' | 'rank';
  durationS: number | null;
  samples: number | null;
  samplesPerS: number | null;
  samplesPerSPerDevice: number | null;
  energyJ: number | null;
  energySource: string | null;
  jPerSample: number | null;
  wPerDevice: number | null;
  deviceHours: number | null;
  energyPerDeviceHourJ: number | null;
  commShareOfTime: number | null;
  commShareOfEnergy: number | null;
  finalAccuracy: number | null;
  finalLoss: number | null;
  co2eG: number | null;
  /** Relative to the first run compared: per-device throughput ratio (1 = perfect scaling). */
  scalingEfficiency: number | null;
}

/** The numeric figures, in the order tables show them, with units. */
export const FIGURE_COLUMNS: { key: keyof RunFigures; label: string; unit: string }[] = [
  { key: 'ranks', label: 'ranks', unit: '' },
  { key: 'devices', label: 'devices', unit: '' },
  { key: 'durationS', label: 'wall time', unit: 's' },
  { key: 'samplesPerSPerDevice', label: 'samples/s per device', unit: '1/s' },
  { key: 'jPerSample', label: 'energy per sample', unit: 'J' },
  { key: 'wPerDevice', label: 'power per device', unit: 'W' },
  { key: 'deviceHours', label: 'device-hours', unit: 'h' },
  { key: 'energyPerDeviceHourJ', label: 'energy per device-hour', unit: 'J' },
  { key: 'energyJ', label: 'energy', unit: 'J' },
  { key: 'co2eG', label: 'CO2e', unit: 'g' },
  { key: 'commShareOfTime', label: 'communication share of time', unit: '' },
  { key: 'commShareOfEnergy', label: 'communication share of energy', unit: '' },
  { key: 'scalingEfficiency', label: 'scaling efficiency vs first', unit: '' },
  { key: 'finalAccuracy', label: 'final accuracy (held out)', unit: '' },
  { key: 'finalLoss', label: 'final loss (held out)', unit: '' },
];

const num = (value: unknown): number | null => (typeof value === 'number' && Number.isFinite(value) ? value : null);
const ratio = (a: number | null, b: number | null): number | null => (a === null || b === null || b === 0 ? null : a / b);

export function runFigures(run: RunData, label = path.basename(run.dir)): RunFigures {
  const m = run.manifest;
  const s = run.summary;
  const ranks = num(m.size) ?? (m.ranks?.length || 1);
  const gpus = runGpus(run);
  const devices = gpus > 0 ? gpus : ranks;
  const durationS = num(s?.wallTimeS) ?? num(m.durationS);
  const samples = num(s?.samples);
  const samplesPerS = num(s?.samplesPerS) ?? ratio(samples, durationS);
  const energy = runEnergy(run);
  const deviceHours = durationS === null ? null : (devices * durationS) / 3600;
  // Communication shares: the trainer's own split of time and of energy when it wrote one.
  const time = s?.time;
  const commS = num(time?.commS) ?? (run.steps.length ? run.steps.reduce((sum, step) => sum + (step.commS ?? 0), 0) : null);
  const busyS = num(time?.computeS) !== null && commS !== null ? num(time.computeS)! + commS + (num(time?.idleS) ?? 0) : run.steps.length ? run.steps.reduce((sum, step) => sum + (step.durationS ?? 0), 0) : null;
  const commJ = num(s?.energy?.commJ);
  const computeJ = num(s?.energy?.computeJ);
  return {
    label,
    dir: run.dir,
    status: String(m.status),
    profile: m.profile?.name ?? null,
    ranks,
    devices,
    deviceKind: gpus > 0 ? 'gpu' : 'rank',
    durationS,
    samples,
    samplesPerS,
    samplesPerSPerDevice: ratio(samplesPerS, devices),
    energyJ: energy.energyJ,
    energySource: energy.source,
    jPerSample: ratio(energy.energyJ, samples),
    wPerDevice: energy.energyJ === null || durationS === null ? null : energy.energyJ / durationS / devices,
    deviceHours,
    energyPerDeviceHourJ: ratio(energy.energyJ, deviceHours),
    commShareOfTime: ratio(commS, busyS),
    commShareOfEnergy: commJ !== null && computeJ !== null ? ratio(commJ, commJ + computeJ) : null,
    finalAccuracy: num(s?.heldOut?.accuracy) ?? num(run.epochs[run.epochs.length - 1]?.heldOutAccuracy),
    finalLoss: num(s?.heldOut?.loss) ?? num(run.epochs[run.epochs.length - 1]?.heldOutLoss),
    co2eG: energy.co2eG,
    scalingEfficiency: null,
  };
}

/** Per-device throughput of each run relative to the first one's (1 = perfect linear scaling). */
export function withScalingEfficiency<T extends Pick<RunFigures, 'samplesPerSPerDevice' | 'scalingEfficiency'>>(rows: T[]): T[] {
  const base = rows[0]?.samplesPerSPerDevice ?? null;
  return rows.map((row) => ({ ...row, scalingEfficiency: ratio(row.samplesPerSPerDevice, base) }));
}

export interface Spread {
  mean: number;
  min: number;
  max: number;
  std: number;
  n: number;
}

export function spread(values: number[]): Spread | null {
  if (values.length === 0) return null;
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  const variance = values.length > 1 ? values.reduce((a, b) => a + (b - mean) ** 2, 0) / (values.length - 1) : 0;
  return { mean, min: Math.min(...values), max: Math.max(...values), std: Math.sqrt(variance), n: values.length };
}

/** One configuration of a sweep: its grid values, the figures of each succeeded repeat, their mean figures and spread. */
export interface ConfigFigures {
  sweep: string;
  config: string;
  params: Record<string, string | number>;
  runs: RunFigures[];
  failed: string[];
  /** Mean of each figure over the succeeded repeats (the label is sweep:config). */
  mean: RunFigures;
  spread: Partial<Record<keyof RunFigures, Spread>>;
}

export function sweepConfigs(dir: string): ConfigFigures[] {
  const index = readSweep(dir);
  const byConfig = new Map<string, ConfigFigures>();
  for (const state of sweepStates(dir, index)) {
    const { config, params } = state.point;
    let entry = byConfig.get(config);
    if (!entry) {
      entry = { sweep: index.name, config, params, runs: [], failed: [], mean: undefined as unknown as RunFigures, spread: {} };
      byConfig.set(config, entry);
    }
    if (state.status === 'succeeded') entry.runs.push(runFigures(readRun(state.runDir), state.point.id));
    else entry.failed.push(`${state.point.id} (${state.status})`);
  }
  const configs = [...byConfig.values()].filter((entry) => entry.runs.length > 0);
  for (const entry of configs) {
    const first = entry.runs[0];
    const mean: Record<string, unknown> = { ...first, label: `${entry.sweep}:${entry.config}`, dir: path.resolve(dir) };
    for (const { key } of FIGURE_COLUMNS) {
      const values = entry.runs.map((run) => run[key]).filter((v): v is number => typeof v === 'number');
      const s = spread(values);
      if (s) entry.spread[key] = s;
      mean[key] = s?.mean ?? null;
    }
    const sources = [...new Set(entry.runs.map((run) => run.energySource))];
    // Repeats whose energy came from different sources cannot be averaged into one figure.
    if (sources.length > 1) {
      mean.energySource = `mixed (${sources.join(', ')})`;
      for (const key of ['energyJ', 'jPerSample', 'wPerDevice', 'energyPerDeviceHourJ', 'co2eG']) mean[key] = null;
    }
    entry.mean = mean as unknown as RunFigures;
  }
  return configs;
}

/** Figures for each argument: a run directory gives one column, a sweep directory one per configuration. */
export function figuresOf(paths: string[]): { figures: RunFigures[]; runs: (RunData | null)[]; configs: (ConfigFigures | null)[] } {
  const figures: RunFigures[] = [];
  const runs: (RunData | null)[] = [];
  const configs: (ConfigFigures | null)[] = [];
  for (const p of paths) {
    if (isSweepDir(p)) {
      for (const config of sweepConfigs(p)) {
        figures.push(config.mean);
        runs.push(readRun(config.runs[0].dir));
        configs.push(config);
      }
    } else {
      const run = readRun(p);
      figures.push(runFigures(run, paths.length > 1 && new Set(paths.map((q) => path.basename(q))).size < paths.length ? p : path.basename(run.dir)));
      runs.push(run);
      configs.push(null);
    }
  }
  return { figures: withScalingEfficiency(figures), runs, configs };
}
