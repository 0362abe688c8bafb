// The published studies' findings, computed on a sweep's runs so they can be checked: energy ≈ k × device-hours per model and profile (Huber et al.), speed-up and efficiency against device count, accuracy against global batch size, energy per sample by precision and strategy.
import { runContext } from './run-context';
import type { ConfigFigures, RunFigures } from './figures';
import { fitThroughOrigin } from './fit';
import { readRun } from './run-data';

export interface DeviceHoursFit {
  /** "<model> on <profile>": the law's k depends on both. */
  group: string;
  /** J per device-hour (a device is a GPU, or a rank on CPU-only runs); null without a usable point. */
  k: number | null;
  r2: number | null;
  n: number;
  energySources: string[];
}

export interface Findings {
  /** One point per run with energy and device-hours. */
  energyVsDeviceHours: { run: string; group: string; deviceHours: number; energyJ: number; source: string | null }[];
  fits: DeviceHoursFit[];
  /** Per series (the grid values other than the device count): throughput relative to the fewest devices. */
  scaling: { series: string; devices: number; speedup: number; efficiency: number }[];
  accuracyVsGbs: { run: string; series: string; gbs: number; accuracy: number }[];
  /** One row per configuration (mean over repeats). */
  energyPerSample: { config: string; precision: string; strategy: string; series: string; jPerSample: number; source: string | null }[];
}

const RANK_KEYS = ['gpus', 'ntasks'];

/** The grid values other than `except`, as one label (after the sweep's name when several are compared): the series a finding is drawn separately for. */
function otherParams(config: ConfigFigures, except: string[], sweeps: number): string {
  const params = Object.entries(config.params).filter(([k]) => !except.includes(k)).map(([k, v]) => `${k}=${v}`).join(',');
  return sweeps > 1 ? `${config.sweep}${params ? `:${params}` : ''}` : params || 'all';
}

const contexts = new Map<string, Record<string, string>>();
/** A run's context field (model, gbs, precision, strategy), read back from its run directory. */
function contextOf(run: RunFigures, field: string): string | undefined {
  let context = contexts.get(run.dir);
  if (!context) {
    context = runContext(readRun(run.dir));
    contexts.set(run.dir, context);
  }
  return context[field];
}

export function sweepFindings(configs: ConfigFigures[]): Findings {
  const sweeps = new Set(configs.map((c) => c.sweep)).size;
  const runs = configs.flatMap((c) => c.runs.map((run) => ({ config: c, run })));
  const energyVsDeviceHours = runs
    .filter(({ run }) => run.energyJ !== null && run.deviceHours !== null)
    .map(({ run }) => ({ run: run.label, group: `${contextOf(run, 'model') ?? 'unknown model'} on ${run.profile ?? 'unknown profile'}`, deviceHours: run.deviceHours!, energyJ: run.energyJ!, source: run.energySource }));
  const fits = [...new Set(energyVsDeviceHours.map((p) => p.group))].map((group) => {
    const points = energyVsDeviceHours.filter((p) => p.group === group);
    const sources = [...new Set(points.map((p) => p.source ?? 'unknown'))].sort();
    // A line through measured and modelled joules together would describe neither.
    if (sources.length > 1) return { group, k: null, r2: null, n: points.length, energySources: sources };
    return { group, ...fitThroughOrigin(points.map((p) => [p.deviceHours, p.energyJ])), energySources: sources };
  });

  const scaling: Findings['scaling'] = [];
  const series = new Map<string, ConfigFigures[]>();
  for (const c of configs) series.set(otherParams(c, RANK_KEYS, sweeps), [...(series.get(otherParams(c, RANK_KEYS, sweeps)) ?? []), c]);
  for (const [name, list] of series) {
    const sorted = [...list].sort((a, b) => a.mean.devices - b.mean.devices);
    const base = sorted[0].mean;
    if (new Set(sorted.map((c) => c.mean.devices)).size < 2 || base.samplesPerS === null) continue;
    for (const c of sorted) {
      if (c.mean.samplesPerS === null) continue;
      const speedup = c.mean.samplesPerS / base.samplesPerS;
      scaling.push({ series: name, devices: c.mean.devices, speedup, efficiency: speedup / (c.mean.devices / base.devices) });
    }
  }

  const accuracyVsGbs = runs
    .map(({ config, run }) => ({ run: run.label, series: otherParams(config, ['lbs', 'gbs', ...RANK_KEYS], sweeps), gbs: Number(contextOf(run, 'gbs')), accuracy: run.finalAccuracy }))
    .filter((r): r is Findings['accuracyVsGbs'][number] => Number.isFinite(r.gbs) && r.accuracy !== null);

  const energyPerSample = configs
    .filter((c) => c.mean.jPerSample !== null)
    .map((c) => ({
      config: c.config,
      precision: String(c.params.precision ?? contextOf(c.runs[0], 'precision') ?? 'unknown'),
      strategy: String(c.params.strategy ?? contextOf(c.runs[0], 'strategy') ?? 'unknown'),
      series: otherParams(c, ['precision', 'strategy'], sweeps),
      jPerSample: c.mean.jPerSample!,
      source: c.mean.energySource,
    }));
  return { energyVsDeviceHours, fits, scaling, accuracyVsGbs, energyPerSample };
}
