// Which GPU(s) a rank uses: SLURM's own per-task binding when it made one, else local rank -> GPU.
import fs from 'node:fs';
import { readEnv } from '../env';
import type { GpuBindingRule } from './types';

export interface GpuBinding {
  rule: GpuBindingRule;
  /** GPU indices as CUDA sees them once CUDA_VISIBLE_DEVICES applies (0..n-1). */
  gpus: number[];
  /** The CUDA_VISIBLE_DEVICES value this rank runs with (undefined: not set). */
  cudaVisibleDevices?: string;
}

/** GPUs on this node: JOULE_GPU_COUNT when given (tests, odd nodes), else the /dev/nvidiaN device files. */
export function nodeGpuCount(env: NodeJS.ProcessEnv = process.env): number {
  const count = readEnv('JOULE_GPU_COUNT', env);
  if (count !== undefined) return count;
  try {
    return fs.readdirSync('/dev').filter((name) => /^nvidia\d+$/.test(name)).length;
  } catch {
    return 0;
  }
}

function visibleList(value: string | undefined): string[] {
  return (value ?? '').split(',').map((s) => s.trim()).filter((s) => s.length > 0 && s !== 'NoDevFiles');
}

/**
 * The binding for a rank. `underSlurm`: started by srun. SLURM's CUDA_VISIBLE_DEVICES is kept when it is
 * per task (--gpus-per-task, --gpu-bind, one GPU, or one task on the node); a node-wide list shared by
 * several tasks is split by local rank like any other list.
 */
export function chooseGpuBinding(localRank: number, localSize: number, underSlurm: boolean, env: NodeJS.ProcessEnv = process.env): GpuBinding {
  const visible = visibleList(env.CUDA_VISIBLE_DEVICES);
  const perTask = visible.length === 1 || localSize === 1 || Boolean(env.SLURM_GPUS_PER_TASK || env.SLURM_GPU_BIND);
  if (underSlurm && visible.length > 0 && perTask) {
    return { rule: 'slurm', gpus: visible.map((_, i) => i), cudaVisibleDevices: visible.join(',') };
  }
  // A CUDA_VISIBLE_DEVICES set by the user (or node-wide by SLURM) narrows the GPUs offered; else count devices.
  const offered = visible.length > 0 ? visible : [...Array(nodeGpuCount(env)).keys()].map(String);
  if (offered.length === 0) return { rule: 'none', gpus: [] };
  return { rule: 'local-rank', gpus: [0], cudaVisibleDevices: offered[localRank % offered.length] };
}

/**
 * NVML indices of `gpus` (CUDA's numbering once CUDA_VISIBLE_DEVICES applies). NVML ignores that variable,
 * so numeric entries are mapped back, read as node-wide indices in NVML's (PCI bus) order, as SLURM numbers
 * them; UUIDs, or no list, leave the indices as they are.
 */
export function nvmlIndices(gpus: number[], cudaVisibleDevices: string | undefined = process.env.CUDA_VISIBLE_DEVICES): number[] {
  const visible = visibleList(cudaVisibleDevices);
  if (visible.length === 0 || !visible.every((entry) => /^\d+$/.test(entry))) return gpus;
  return gpus.flatMap((gpu) => (gpu < visible.length ? [Number(visible[gpu])] : []));
}

/** The node's GPUs that belong to the job, as NVML indices: SLURM's allocation on this node, else CUDA_VISIBLE_DEVICES, else every GPU of the node. */
export function jobGpusOfNode(env: NodeJS.ProcessEnv = process.env): number[] {
  const listed = visibleList(env.SLURM_STEP_GPUS ?? env.SLURM_JOB_GPUS ?? env.CUDA_VISIBLE_DEVICES);
  if (listed.length > 0) return nvmlIndices([...listed.keys()], listed.join(','));
  return [...Array(nodeGpuCount(env)).keys()];
}
