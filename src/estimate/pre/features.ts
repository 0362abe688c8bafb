// PRE's features: what is known about a training run before it starts (architecture, data, hardware, layout).

export const featureNames = [
  'batchSize', 'inputSize', 'flopsPerSample', 'parameters', 'datasetSize',
  'gpuCudaCores', 'gpuMemoryGB', 'gpuTdpW', 'gpus', 'precisionBits', 'pipeline',
] as const;
export type FeatureName = (typeof featureNames)[number];
export type Features = Partial<Record<FeatureName, number>>;

/** One past run: its features and what was measured. */
export interface PreRow {
  name: string;
  features: Features;
  /** Mean power over training, W. */
  meanPowerW?: number;
  energyPerEpochJ?: number;
  /** nvml, rapl, nvidia-smi, model, or what an imported table says. */
  source: string;
}

/** Bits of the compute precision: fp32/tf32 32, bf16/fp16/amp/mixed 16, fp8 8, or a number of bits. */
export function precisionBits(text: string | number | undefined): number | undefined {
  if (text === undefined || text === '') return undefined;
  if (typeof text === 'number') return text;
  const t = text.toLowerCase();
  if (/^\d+$/.test(t)) return Number(t);
  if (['fp32', 'float32', 'f32', 'tf32'].includes(t)) return 32;
  if (['bf16', 'fp16', 'float16', 'bfloat16', 'f16', 'amp', 'mixed'].includes(t)) return 16;
  if (['fp8', 'f8'].includes(t)) return 8;
  if (t === 'fp64' || t === 'float64') return 64;
  return undefined;
}

/** 1 for pipeline or hybrid parallelism (activations between ranks), 0 for data parallelism. */
export function pipelineFlag(strategy: string | undefined): number | undefined {
  if (strategy === undefined || strategy === '') return undefined;
  return /^(pp|pipeline|hybrid|dp\+pp|pp\+dp)$/i.test(strategy) ? 1 : 0;
}
