// BERT's masked-token targets, deterministic per sample: which positions are hidden and what the model sees there.
import { Rng } from '../rng';

/** Token ids every vocabulary here starts with; words follow from firstWordId. */
export const specialTokens = { pad: 0, unknown: 1, mask: 2 } as const;
export const specialTokenNames = ['[PAD]', '[UNK]', '[MASK]'];
export const firstWordId = 3;

/** BERT's fraction of positions to predict. */
export const maskedFraction = 0.15;

/** Streams apart from sample generation (tags 0 and 1), so masking and content never share random numbers. */
export function maskingRng(seed: number, split: 'train' | 'test', index: number): Rng {
  return new Rng(seed, index * 4 + (split === 'train' ? 2 : 3));
}

/**
 * Picks round(15 %) of the positions (at least one), as BERT's data preparation does, and writes the model's input
 * and the labels for `tokens` at `offset`: a picked position is [MASK] 80 % of the time, a random word 10 %, itself
 * 10 %, and its label is the original token; other positions are labelled -1 (not counted).
 */
export function maskSequence(tokens: Int32Array, vocabSize: number, rng: Rng, input: Int32Array, labels: Int32Array, offset: number): void {
  const length = tokens.length;
  input.set(tokens, offset);
  labels.fill(-1, offset, offset + length);
  const positions = Array.from({ length }, (_, i) => i);
  const picks = Math.max(1, Math.round(length * maskedFraction));
  for (let k = 0; k < picks; k++) {
    // A partial Fisher–Yates shuffle: the first `picks` positions are a uniform sample without repeats.
    const j = k + rng.below(length - k);
    [positions[k], positions[j]] = [positions[j], positions[k]];
    const p = positions[k];
    labels[offset + p] = tokens[p];
    const roll = rng.below(10);
    if (roll < 8) input[offset + p] = specialTokens.mask;
    else if (roll === 8) input[offset + p] = firstWordId + rng.below(vocabSize - firstWordId);
  }
}
