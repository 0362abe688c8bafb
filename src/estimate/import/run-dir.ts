// A joule run directory as a trace: its power samples (runPower: power.jsonl, or node-power.jsonl where no rank measured), run.json, and the trainer's epochs.jsonl.
import fs from 'node:fs';
import path from 'node:path';
import { JouleError } from '../../errors';
import { readRecords } from '../../power/records';
import { hasRunPower, runPower, type ChannelSamples } from '../../power/run-samples';
import type { EpochSpan, PowerSeries, PowerTrace, TraceIssue, TraceSource } from '../trace';

/** What run.json says that the estimators use; absent fields stay undefined. */
export interface RunInfo {
  dir: string;
  status?: string;
  durationS?: number;
  /** run.json's energy totals: measured J and model J, never summed here. */
  measuredJ?: number;
  modelJ?: number;
  gpuHours?: number;
  ranks?: number;
  /** GPUs and CPUs bound to the ranks (run.json's ranks[].gpus / .cpus). */
  gpus?: number;
  cpus?: number;
  /** The cluster profile the run was launched with, as recorded (may be absent for old runs). */
  profile?: Record<string, unknown>;
  /** The training configuration: run.json's config with the trainer's (train-config.jsonl) over it: model, lbs, gbs, epochs, precision, ... */
  config: Record<string, unknown>;
  /** The model's size as the trainer recorded it. */
  model?: { name: string; parameters?: number; flopsPerSample?: number; inputSize?: number };
  datasetSize?: number;
}

interface Clock {
  monotonicS: number;
  epochMs: number;
}

function readJson(file: string): Record<string, unknown> {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
  } catch (error) {
    throw new JouleError('JOULE_BAD_ARGUMENT', `${file}: not readable JSON: ${(error as Error).message}`, { file });
  }
}

const num = (value: unknown): number | undefined => (typeof value === 'number' && Number.isFinite(value) ? value : undefined);

export function isRunDirectory(dir: string): boolean {
  return fs.existsSync(path.join(dir, 'run.json')) || hasRunPower(dir) || fs.existsSync(path.join(dir, 'epochs.jsonl'));
}

/** The trainer's own record of what it trained (train-config.jsonl, written by rank 0 at the start). */
function trainConfig(dir: string): Partial<RunInfo> {
  const file = path.join(dir, 'train-config.jsonl');
  if (!fs.existsSync(file)) return {};
  const records = readRecords(file);
  const last = records[records.length - 1] ?? {};
  const model = (last.model ?? {}) as Record<string, unknown>;
  const dataset = (last.dataset ?? {}) as Record<string, unknown>;
  const shape = Array.isArray(model.inputShape) ? (model.inputShape as number[]) : undefined;
  return {
    config: (last.config ?? {}) as Record<string, unknown>,
    model: typeof model.name === 'string' ? { name: model.name, parameters: num(model.parameters), flopsPerSample: num(model.flopsPerSample), inputSize: shape?.reduce((a, b) => a * b, 1) } : undefined,
    datasetSize: num(dataset.trainSize),
  };
}

export function readRunInfo(dir: string): RunInfo {
  const file = path.join(dir, 'run.json');
  const trained = trainConfig(dir);
  if (!fs.existsSync(file)) return { dir, ...trained, config: trained.config ?? {} };
  const run = readJson(file);
  const totals = ((run.energy as Record<string, unknown> | null)?.totals ?? {}) as Record<string, unknown>;
  const ranks = Array.isArray(run.ranks) ? (run.ranks as Record<string, unknown>[]).filter(Boolean) : [];
  const config = (run.config ?? {}) as Record<string, unknown>;
  const count = (key: 'gpus' | 'cpus') => (ranks.some((r) => Array.isArray(r[key])) ? ranks.reduce((s, r) => s + ((r[key] as unknown[] | undefined)?.length ?? 0), 0) : undefined);
  return {
    dir,
    status: typeof run.status === 'string' ? run.status : undefined,
    durationS: num(run.durationS),
    measuredJ: num(totals.measuredJ),
    modelJ: num(totals.modelJ),
    gpuHours: num(totals.gpuHours),
    ranks: num(run.size),
    gpus: count('gpus'),
    cpus: count('cpus'),
    profile: (run.profile ?? undefined) as Record<string, unknown> | undefined,
    config: { ...config, ...trained.config },
    model: trained.model,
    datasetSize: trained.datasetSize,
  };
}

/**
 * Power series from the run's power samples (runPower: its ranks' own, or the node sampler's where no
 * rank measured), one per channel and reader, on wall-clock seconds. GPUs: the energy counter's
 * differences (nvml), or the power readings; RAPL zones: counter differences (read once per node
 * already); the process channel: CPU time × the profile's W per core, labelled `model`. Counters stay
 * counters (cumulativeJ), so their integrals are their differences exactly, however irregular the
 * readings (the monitor adds readings at window boundaries).
 */
function seriesFromPower(channels: ChannelSamples[]): PowerSeries[] {
  const series: PowerSeries[] = [];
  for (const channel of channels) {
    const isProcess = channel.kind === 'process';
    const factor = isProcess ? channel.cpuTdpPerCoreW ?? NaN : 1;
    const entry = { t: [] as number[], p: [] as number[], c: [] as number[] };
    channel.timesS.forEach((wallS, i) => {
      if (entry.t.length && wallS <= entry.t[entry.t.length - 1]) return;
      const counter = isProcess ? channel.cpuTimeS[i] : channel.energyJ[i];
      const watts = channel.powerW[i];
      if (counter === null && channel.kind === 'gpu' && watts !== null && entry.c.length === 0) {
        entry.t.push(wallS);
        entry.p.push(watts);
        return;
      }
      if (counter === null || !Number.isFinite(factor) || entry.p.length > entry.c.length) return;
      const n = entry.t.length;
      entry.t.push(wallS);
      entry.c.push(counter * factor);
      entry.p.push(n ? (entry.c[n] - entry.c[n - 1]) / (wallS - entry.t[n - 1]) : NaN);
    });
    if (entry.t.length < 2) continue;
    const isCounter = entry.c.length === entry.t.length;
    if (isCounter) entry.p[0] = entry.p[1];
    const device = channel.measuredBy === 'node' ? `node ${channel.host}/${channel.label}` : `${channel.rank}/${channel.label}`;
    series.push({ device, source: channel.source, timesS: entry.t, powerW: entry.p, ...(isCounter ? { cumulativeJ: entry.c } : {}), ...(channel.periodS ? { periodS: channel.periodS } : {}) });
  }
  return series;
}

/**
 * Where the trainer's epoch times (seconds since training started, epochs.jsonl) fall on the power
 * records' monotonic clock: rank 0's `step` power windows, counted off by each epoch's `steps`, give
 * each epoch's first step start; the offset is taken from the first epoch (a resumed run's epochs keep
 * their own counts). Null without step windows.
 */
function epochOffsetS(records: Record<string, unknown>[], power: Record<string, unknown>[]): number | null {
  const steps = power
    .filter((r) => r.type === 'power-window' && r.name === 'step' && (num(r.rank) ?? 0) === 0)
    .map((r) => num(r.startS)!)
    .filter((t) => t !== undefined)
    .sort((a, b) => a - b);
  const firstStart = num(records[0]?.startS);
  if (steps.length === 0 || firstStart === undefined) return null;
  return steps[0] - firstStart;
}

/**
 * The trainer's epochs (epochs.jsonl: {epoch, steps, startS, endS, durationS, energyJ, modelEnergyJ,
 * energySource}, written once per epoch by rank 0 with job-wide figures), moved onto wall-clock seconds
 * through `offsetS` (to the power clock) and rank 0's clock. Each epoch carries the measured figure
 * when `measured` (the trace's series are measured) and the model's otherwise, never a mix.
 */
function epochsFromRecords(records: Record<string, unknown>[], toWall: (t: number) => number, measured: boolean, file: string, issues: TraceIssue[]): EpochSpan[] {
  const epochs: EpochSpan[] = [];
  records.forEach((r, i) => {
    const epoch = num(r.epoch);
    const startS = num(r.startS);
    const endS = num(r.endS);
    if (epoch === undefined || startS === undefined || endS === undefined || !(endS > startS)) {
      issues.push({ file, line: i + 1, kind: 'malformed', message: 'an epoch record without epoch, startS < endS: left out' });
      return;
    }
    const label = String(r.energySource ?? '');
    const figure = measured ? num(r.energyJ) : num(r.modelEnergyJ);
    const source = (measured ? (label.includes('nvml') ? 'nvml' : 'rapl') : 'model') as TraceSource;
    const span: EpochSpan = { epoch, startS: toWall(startS), endS: toWall(endS) };
    if (figure !== undefined) Object.assign(span, { energyJ: figure, source });
    epochs.push(span);
  });
  return epochs.sort((a, b) => a.startS - b.startS);
}

/** A joule run directory as a trace plus what its run.json says. */
export function readRunTrace(dir: string): { trace: PowerTrace; info: RunInfo } {
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) throw new JouleError('JOULE_BAD_ARGUMENT', `not a run directory: ${dir}`);
  const info = readRunInfo(dir);
  const issues: TraceIssue[] = [];
  const run = hasRunPower(dir) ? runPower(dir) : null;
  const power = run?.records ?? [];
  const clocks = run?.clocks ?? new Map<number, Clock>();
  const series = seriesFromPower(run?.channels ?? []);
  if (!run) issues.push({ file: dir, kind: 'note', message: 'no power.jsonl or node-power.jsonl: no power trace, epochs only' });
  for (const rank of run?.unplacedRanks ?? []) issues.push({ file: run!.files.join(', '), kind: 'note', message: `rank ${rank}: samples before its power-channels record: left out` });
  for (const node of run?.nodes.filter((n) => n.measuredBy === 'node') ?? []) issues.push({ file: dir, kind: 'note', message: `${node.host}: no rank measured itself there; its node sampler's samples (node-power.jsonl) stand for it` });
  const epochsFile = path.join(dir, 'epochs.jsonl');
  const epochRecords = fs.existsSync(epochsFile) ? readRecords(epochsFile) : [];
  const offsetS = epochOffsetS(epochRecords, power);
  const clock = clocks.get(0);
  if (epochRecords.length > 0 && (offsetS === null || !clock)) {
    issues.push({ file: epochsFile, kind: 'note', message: 'no step power windows of rank 0: epochs placed from the trace\'s start' });
  }
  const traceStartS = series.length ? Math.min(...series.map((s) => s.timesS[0])) : 0;
  const toWall = (t: number) => (offsetS !== null && clock ? clock.epochMs / 1000 + (t + offsetS - clock.monotonicS) : traceStartS + t);
  // Measured epoch figures when the trace is measured, or when there is no trace and some epoch was measured.
  const measured = series.length ? series.some((s) => s.source !== 'model') : epochRecords.some((r) => num(r.energyJ) !== undefined);
  const epochs = epochsFromRecords(epochRecords, toWall, measured, epochsFile, issues);
  if (series.length === 0 && epochs.length === 0) {
    throw new JouleError('JOULE_BAD_ARGUMENT', `${dir}: no power samples and no epochs.jsonl: nothing to estimate from`, { dir });
  }
  return { trace: { name: dir, format: 'joule-run', series, epochs, issues }, info };
}
