// Checks shared by the data sets: requested sizes and options against what a data set can give, and the indices of a batch.
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

/** Options of a generated data set: any shape (of `rank` axes when given), enough classes, sizes that fit the streams. */
export function checkSyntheticOptions(dataset: string, o: { sampleShape: number[]; numClasses: number; sizes: { train: number; test: number }; minClasses: number; rank?: number }): void {
  const positive = (n: number) => Number.isInteger(n) && n > 0;
  const problems: string[] = [];
  if (o.sampleShape.length === 0 || !o.sampleShape.every(positive)) problems.push(`sampleShape must be positive whole numbers, got [${o.sampleShape.join(', ')}]`);
  if (o.rank !== undefined && o.sampleShape.length !== o.rank) problems.push(`sampleShape must have ${o.rank} ax${o.rank === 1 ? 'is' : 'es'}, got [${o.sampleShape.join(', ')}]`);
  if (!Number.isInteger(o.numClasses) || o.numClasses < o.minClasses) problems.push(`numClasses must be a whole number ≥ ${o.minClasses}, got ${o.numClasses}`);
  // Random streams are numbered sample index × 4 + tag in 32 bits.
  for (const split of ['train', 'test'] as const) {
    if (!positive(o.sizes[split]) || o.sizes[split] > 2 ** 30) problems.push(`${split}Size must be a whole number from 1 to 2^30, got ${o.sizes[split]}`);
  }
  if (problems.length > 0) throw new JouleError('JOULE_BAD_ARGUMENT', `${dataset}: ${problems.join('; ')}`, { dataset });
}
