// GPU power limits as a sweep dimension: set through NVML for one run and restored after it, and after a crash through a journal in the sweep directory.
import fs from 'node:fs';
import path from 'node:path';
import { isJouleError, JouleError, type JouleErrorCode } from '../errors';
import { native, type NativeGpuPowerLimit } from '../native';
import { writeJsonAtomic } from './sweep-dir';

/** Written before any limit changes and removed once every limit is back: its presence means a restore is owed. */
export const POWER_LIMIT_JOURNAL = 'power-limits.json';

interface Journal {
  /** Each GPU's limit before the sweep touched it, W. */
  original: { index: number; limitW: number }[];
  setW: number;
  pid: number;
  at: string;
}

/** One GPU's limit (setting it first when `setW` is given), with the addon's errors as JouleErrors. */
async function gpuLimit(index: number, setW?: number): Promise<NativeGpuPowerLimit> {
  try {
    return await native().gpuPowerLimit(index, setW);
  } catch (error) {
    if (isJouleError(error)) throw error;
    const { code, libraryError } = error as { code?: JouleErrorCode; libraryError?: string };
    throw new JouleError(code ?? 'JOULE_NATIVE_ERROR', (error as Error).message, { device: String(index), libraryError });
  }
}

/** The GPUs the limit applies to: those of CUDA_VISIBLE_DEVICES when it lists indexes, else every GPU NVML sees. */
async function targetGpus(): Promise<number[]> {
  const caps = await native().capabilities();
  if (!caps.nvml.usable) throw new JouleError('JOULE_BACKEND_UNAVAILABLE', `--grid power-limit needs NVML: ${caps.nvml.reason}`);
  const all = caps.nvml.gpus.map((gpu) => gpu.index);
  const visible = process.env.CUDA_VISIBLE_DEVICES;
  if (visible && /^\d+(,\d+)*$/.test(visible)) return visible.split(',').map(Number).filter((i) => all.includes(i));
  return all;
}

/** Puts back the limits a journal recorded (a run before this one crashed with a limit set); removes the journal. */
export async function restorePowerLimits(dir: string): Promise<{ index: number; limitW: number }[] | null> {
  const file = path.join(dir, POWER_LIMIT_JOURNAL);
  if (!fs.existsSync(file)) return null;
  const journal = JSON.parse(fs.readFileSync(file, 'utf8')) as Journal;
  for (const { index, limitW } of journal.original) await gpuLimit(index, limitW);
  fs.rmSync(file);
  return journal.original;
}

/**
 * Runs `body` with every target GPU's limit at `watts` (null: no change). The original limits go to the
 * journal before the first change, and come back after `body` whatever happens; if this process dies
 * first, the next `joule sweep` on the directory restores them before anything else.
 */
export async function withPowerLimit<T>(dir: string, watts: number | null, body: () => Promise<T>): Promise<T> {
  await restorePowerLimits(dir);
  if (watts === null) return body();
  const gpus = await targetGpus();
  if (gpus.length === 0) throw new JouleError('JOULE_BACKEND_UNAVAILABLE', '--grid power-limit: NVML sees no GPU here');
  const before = await Promise.all(gpus.map((index) => gpuLimit(index)));
  for (const gpu of before) {
    if ((gpu.minW !== null && watts < gpu.minW) || (gpu.maxW !== null && watts > gpu.maxW)) {
      throw new JouleError('JOULE_BAD_ARGUMENT', `power limit ${watts} W is outside GPU ${gpu.index}'s range ${gpu.minW}-${gpu.maxW} W`, { device: String(gpu.index) });
    }
  }
  const journal: Journal = { original: before.map((gpu) => ({ index: gpu.index, limitW: gpu.limitW })), setW: watts, pid: process.pid, at: new Date().toISOString() };
  writeJsonAtomic(path.join(dir, POWER_LIMIT_JOURNAL), journal);
  try {
    for (const index of gpus) await gpuLimit(index, watts);
    return await body();
  } finally {
    await restorePowerLimits(dir);
  }
}
