// Checks shared by the data sets: sizes asked for against what a split holds, and the indices of a batch.
import { JouleError } from '../../errors';

/** The first `requested` samples of a split that holds `available` (all of them when nothing is asked). */
export function splitSize(dataset: string, split: 'train' | 'test', available: number, requested: number | undefined): number {
  if (requested === undefined) return available;
  if (!Number.isInteger(requested) || requested <= 0 || requested > available) {
    const flag = split === 'train' ? 'trainSize' : 'testSize';
    throw new JouleError('JOULE_BAD_ARGUMENT', `${dataset}: ${flag} must be a whole number from 1 to ${available} (the ${split} split's size), got ${requested}`, { dataset });
  }
  return requested;
}

/** An option a data set fixes itself (MNIST's shape, say) may be given only with that value. */
export function checkFixed(dataset: string, option: string, requested: number | number[] | undefined, actual: number | number[]): void {
  if (requested !== undefined && JSON.stringify(requested) !== JSON.stringify(actual)) {
    throw new JouleError('JOULE_BAD_ARGUMENT', `${dataset} has ${option} ${JSON.stringify(actual)}; it cannot be ${JSON.stringify(requested)}`, { dataset });
  }
}

export function checkIndices(dataset: string, split: 'train' | 'test', indices: readonly number[], size: number): void {
  for (const index of indices) {
    if (!Number.isInteger(index) || index < 0 || index >= size) {
      throw new JouleError('JOULE_BAD_ARGUMENT', `${dataset}: sample ${index} is outside the ${split} split (0 to ${size - 1})`, { dataset, split, index });
    }
  }
}
