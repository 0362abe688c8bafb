// PRE's training rows: joule run directories, and imported tables of other people's runs (a documented CSV).
import { parse } from 'csv-parse/sync';
import { JouleError } from '../../errors';
import { hardwareFrom } from '../hardware';
import { readRunTrace } from '../import/run-dir';
import { modelInfo } from '../model-info';
import { epochEnergies, primarySeries, sourceOf } from '../trace';
import type { ClusterProfile } from '../../slurm/profile';
import { pipelineFlag, precisionBits, type Features, type PreRow } from './features';

/** CSV column -> feature; the README's "PRE training table" documents these. */
const csvFeatures: Record<string, keyof Features> = {
  batch_size: 'batchSize',
  input_size: 'inputSize',
  flops_per_sample: 'flopsPerSample',
  parameters: 'parameters',
  dataset_size: 'datasetSize',
  gpu_cuda_cores: 'gpuCudaCores',
  gpu_memory_gb: 'gpuMemoryGB',
  gpu_tdp_w: 'gpuTdpW',
  gpus: 'gpus',
};
const csvTargets = ['energy_j', 'duration_s', 'epochs', 'mean_power_w', 'energy_per_epoch_j'];
export const preCsvColumns = ['name', 'source', ...Object.keys(csvFeatures), 'precision', 'strategy', ...csvTargets];

/**
 * Rows from a table of past runs. Columns (header names; any may be absent except that each row needs a
 * target): name, source (how energy was measured: nvml, rapl, nvidia-smi, ...; default `imported`),
 * the features batch_size, input_size, flops_per_sample, parameters, dataset_size, gpu_cuda_cores,
 * gpu_memory_gb, gpu_tdp_w, gpus, precision (fp32, bf16, fp16, tf32 or bits), strategy (dp, pp, hybrid),
 * and the measurements energy_j with duration_s and/or epochs, or mean_power_w and/or energy_per_epoch_j.
 * An empty cell is unknown; an unreadable one is an error naming its line and column.
 */
export function preRowsFromCsv(text: string, file: string): PreRow[] {
  const records = parse(text, { columns: (h: string[]) => h.map((c) => c.trim().toLowerCase()), trim: true, skip_empty_lines: true, comment: '#', info: true, bom: true }) as {
    record: Record<string, string>;
    info: { lines: number };
  }[];
  const problems: string[] = [];
  const unknown = Object.keys(records[0]?.record ?? {}).filter((c) => !preCsvColumns.includes(c));
  if (unknown.length) throw new JouleError('JOULE_BAD_ARGUMENT', `${file}: unknown column(s) ${unknown.join(', ')} (known: ${preCsvColumns.join(', ')})`);
  const rows: PreRow[] = [];
  for (const { record, info } of records) {
    const number = (column: string): number | undefined => {
      const text = record[column];
      if (text === undefined || text === '') return undefined;
      const value = Number(text);
      if (!Number.isFinite(value) || value < 0) problems.push(`line ${info.lines}, ${column}: "${text}" is not a number >= 0`);
      return Number.isFinite(value) ? value : undefined;
    };
    const features: Features = {};
    for (const [column, feature] of Object.entries(csvFeatures)) features[feature] = number(column);
    features.precisionBits = precisionBits(record.precision);
    if (record.precision && features.precisionBits === undefined) problems.push(`line ${info.lines}, precision: "${record.precision}" is not fp32, tf32, bf16, fp16, fp8 or a number of bits`);
    features.pipeline = pipelineFlag(record.strategy);
    const energyJ = number('energy_j');
    const durationS = number('duration_s');
    const epochs = number('epochs');
    const meanPowerW = number('mean_power_w') ?? (energyJ !== undefined && durationS ? energyJ / durationS : undefined);
    const energyPerEpochJ = number('energy_per_epoch_j') ?? (energyJ !== undefined && epochs ? energyJ / epochs : undefined);
    if (meanPowerW === undefined && energyPerEpochJ === undefined) problems.push(`line ${info.lines}: no measurement (energy_j with duration_s or epochs, mean_power_w, or energy_per_epoch_j)`);
    rows.push({ name: record.name || `${file}:${info.lines}`, features, meanPowerW, energyPerEpochJ, source: record.source || 'imported' });
  }
  if (problems.length) throw new JouleError('JOULE_BAD_ARGUMENT', `${file}: ${problems.length} problem(s):\n  ${problems.slice(0, 20).join('\n  ')}`, { file, problems });
  return rows;
}

const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

/** A row from a joule run directory: its config, profile and the model's size as features; its epochs' energy as the measurement. */
export function preRowFromRun(dir: string): PreRow {
  const { trace, info } = readRunTrace(dir);
  const c = info.config;
  const epochs = epochEnergies(trace);
  const totalJ = epochs.reduce((s, e) => s + e.energyJ, 0);
  const totalS = epochs.reduce((s, e) => s + e.durationS, 0);
  const hardware = info.profile ? hardwareFrom(info.profile as unknown as ClusterProfile) : undefined;
  const modelName = str(c.model);
  let model: { parameters?: number; flopsPerSample?: number; inputSize?: number } = info.model ?? {};
  if (!info.model && modelName) {
    try {
      model = modelInfo(modelName, {});
    } catch {
      // Without the model builders the size features stay unknown for this run, and get dropped if so for others.
    }
  }
  const gpus = info.gpus ?? 0;
  const series = primarySeries(trace);
  return {
    name: dir,
    features: {
      batchSize: num(c.gbs) ?? num(c.lbs) ?? num(c.batchSize),
      inputSize: model.inputSize,
      flopsPerSample: model.flopsPerSample,
      parameters: model.parameters,
      datasetSize: info.datasetSize ?? num(c.trainSize) ?? num(c.datasetSize),
      gpuCudaCores: gpus > 0 ? hardware?.gpuCudaCores : 0,
      gpuMemoryGB: gpus > 0 ? hardware?.gpuMemoryGB : 0,
      gpuTdpW: gpus > 0 ? hardware?.gpuTdpW : 0,
      gpus,
      precisionBits: precisionBits(str(c.precision)),
      pipeline: pipelineFlag(str(c.strategy)),
    },
    meanPowerW: totalS > 0 ? totalJ / totalS : undefined,
    energyPerEpochJ: epochs.length > 0 ? totalJ / epochs.length : undefined,
    source: trace.epochs.find((e) => e.source)?.source ?? (series.length ? sourceOf(series) : 'unknown'),
  };
}
