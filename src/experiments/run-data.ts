// Reading a finished run directory for comparison and reports: run.json, and the trainer's files when present (train-summary.json, steps.jsonl, epochs.jsonl, train-config.jsonl).
import fs from 'node:fs';
import path from 'node:path';
import { JouleError } from '../errors';
import { readRecords } from '../power/records';

export interface StepRecord {
  step: number;
  epoch?: number;
  loss?: number;
  accuracy?: number;
  samples?: number;
  durationS?: number;
  samplesPerS?: number;
  computeS?: number;
  commS?: number;
  idleS?: number;
  energy?: { energyJ?: number | null; modelEnergyJ?: number | null; source?: string; computeJ?: number; commJ?: number };
}

export interface RunData {
  dir: string;
  /** run.json as written (fields are read defensively: the record grows over time). */
  manifest: Record<string, any>;
  /** train-summary.json of a joule train run, else null. */
  summary: Record<string, any> | null;
  /** The training configuration (train-config.jsonl, rank 0), else null. */
  trainConfig: Record<string, any> | null;
  /** Rank 0's steps (steps.jsonl), in step order; empty for other workloads. */
  steps: StepRecord[];
  epochs: Record<string, any>[];
}

function readJson(file: string): Record<string, any> | null {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch {
    return null;
  }
}

function readStream(dir: string, name: string): Record<string, any>[] {
  const file = path.join(dir, name);
  return fs.existsSync(file) ? readRecords(file) : [];
}

export function readRun(dir: string): RunData {
  const manifest = readJson(path.join(dir, 'run.json'));
  if (!manifest) throw new JouleError('JOULE_BAD_ARGUMENT', `${dir} is not a run directory (no readable run.json)`, { dir });
  const rank0 = (r: Record<string, any>) => r.rank === undefined || r.rank === 0;
  const config = readStream(dir, 'train-config.jsonl').find(rank0) ?? null;
  return {
    dir: path.resolve(dir),
    manifest,
    summary: readJson(path.join(dir, 'train-summary.json')),
    trainConfig: config,
    steps: (readStream(dir, 'steps.jsonl').filter(rank0) as StepRecord[]).sort((a, b) => a.step - b.step),
    epochs: readStream(dir, 'epochs.jsonl').filter(rank0),
  };
}

export interface RunEnergy {
  energyJ: number | null;
  /** "nvml-counter+rapl" (measured, the sources named) or "model"; a model figure is never added to a measured one. */
  source: string | null;
  co2eG: number | null;
}

/** The run's energy: measured when anything was measured, else the model's, labelled either way. */
export function runEnergy(run: RunData): RunEnergy {
  const totals = run.manifest.energy?.totals;
  // CO2e of the figure chosen, through the run's own PUE and grid intensity (facility kWh × g/kWh).
  const co2 = (joules: number) => (typeof totals?.pue === 'number' && typeof totals?.carbonGPerKWh === 'number' ? ((joules * totals.pue) / 3.6e6) * totals.carbonGPerKWh : null);
  if (totals && typeof totals.measuredJ === 'number' && totals.measuredJ > 0) {
    const sources = Object.keys(totals.sources ?? {}).filter((s) => s !== 'model').sort();
    return { energyJ: totals.measuredJ, source: sources.join('+') || 'measured', co2eG: co2(totals.measuredJ) };
  }
  if (totals && typeof totals.modelJ === 'number' && totals.modelJ > 0) return { energyJ: totals.modelJ, source: 'model', co2eG: co2(totals.modelJ) };
  const trained = run.summary?.energy;
  if (trained && typeof trained.energyJ === 'number') return { energyJ: trained.energyJ, source: trained.source ?? 'measured', co2eG: null };
  if (trained && typeof trained.modelEnergyJ === 'number') return { energyJ: trained.modelEnergyJ, source: 'model', co2eG: null };
  return { energyJ: null, source: null, co2eG: null };
}

/** GPUs the run used (distinct per host), or 0 on CPU-only runs. */
export function runGpus(run: RunData): number {
  const seen = new Set<string>();
  for (const rank of run.manifest.ranks ?? []) {
    // Each rank sees its own GPUs as 0..n-1; CUDA_VISIBLE_DEVICES says which physical ones they are.
    const physical = typeof rank?.cudaVisibleDevices === 'string' && rank.cudaVisibleDevices ? rank.cudaVisibleDevices.split(',') : (rank?.gpus ?? []).map(String);
    if ((rank?.gpus ?? []).length > 0) for (const gpu of physical) seen.add(`${rank.host}/${gpu}`);
  }
  return seen.size;
}
