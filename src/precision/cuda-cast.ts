// The CUDA twin of cast()/castStats(): the same arguments, run by libjoule_cuda.so's kernels through
// host-staged buffers. For tests that compare GPU bits with the CPU's and for `joule bench cast --device cuda`.
import { JouleError, knownErrorCode } from '../errors';
import { native } from '../native';
import { castArgs, toStats, type CastArray, type CastOptions, type CastStats } from './cast';

function cudaError(error: unknown): never {
  const message = (error as Error).message;
  if (error instanceof JouleError) throw error;
  throw new JouleError(knownErrorCode((error as { code?: unknown }).code) ?? 'JOULE_NATIVE_ERROR', message, {
    device: 'cuda',
    libraryError: message,
  });
}

/** cast() on the GPU (copies in, converts, copies back). Rejects with JOULE_BACKEND_UNAVAILABLE without one. */
export async function cudaCast(input: CastArray, options: CastOptions): Promise<CastArray> {
  const { args, out } = castArgs(input, options);
  try {
    await native().cudaCast(...args);
  } catch (error) {
    cudaError(error);
  }
  return out as CastArray;
}

/** castStats() on the GPU; relError's sums are added in a varying order there (last bits may differ). */
export async function cudaCastStats(input: CastArray, options: CastOptions): Promise<CastStats> {
  const { args } = castArgs(input, options, true);
  try {
    return toStats(await native().cudaCast(...args), input.length);
  } catch (error) {
    return cudaError(error);
  }
}

/** Device-buffer timing of one direction (joule::cast::Direction index): the kernel and a same-bytes device copy. */
export async function cudaCastBench(direction: number, count: number, iterations: number): Promise<{ castS: number; copyS: number }> {
  try {
    return await native().cudaCastBench(direction, count, 1, iterations);
  } catch (error) {
    return cudaError(error);
  }
}
