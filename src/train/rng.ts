// Seeded randomness for training: the same seed gives the same data order on every machine and rank layout.

/** splitmix64 reduced to 32-bit halves: a small, well-mixed generator whose whole state is one number pair. */
export class Rng {
  private hi: number;
  private lo: number;

  constructor(seed: number, stream = 0) {
    // Two independent 32-bit words from the seed and the stream, so (seed, epoch) pairs never collide.
    this.hi = mix32((seed >>> 0) ^ 0x9e3779b9);
    this.lo = mix32(((stream >>> 0) + 0x7f4a7c15) ^ this.hi);
  }

  /** A uniform 32-bit unsigned integer. */
  nextUint32(): number {
    // xorshift64 on the two halves, then a final mix: period 2^64 − 1, no zero state (guarded below).
    if (this.hi === 0 && this.lo === 0) this.lo = 1;
    let hi = this.hi;
    let lo = this.lo;
    hi ^= (hi << 13) | (lo >>> 19);
    lo ^= lo << 13;
    const h2 = hi ^ (hi >>> 7);
    lo ^= (lo >>> 7) | (hi << 25);
    hi = h2;
    hi ^= (hi << 17) | (lo >>> 15);
    lo ^= lo << 17;
    this.hi = hi >>> 0;
    this.lo = lo >>> 0;
    return mix32(this.hi ^ Math.imul(this.lo, 0x85ebca6b));
  }

  /** A uniform integer in [0, n). */
  below(n: number): number {
    // Rejection sampling keeps the result unbiased for any n up to 2^32.
    const limit = Math.floor(0x100000000 / n) * n;
    for (;;) {
      const x = this.nextUint32();
      if (x < limit) return x % n;
    }
  }
}

function mix32(x: number): number {
  x = Math.imul(x ^ (x >>> 16), 0x7feb352d);
  x = Math.imul(x ^ (x >>> 15), 0x846ca68b);
  return (x ^ (x >>> 16)) >>> 0;
}

/** The order of the training set in `epoch`: a Fisher–Yates shuffle seeded by (seed, epoch). */
export function epochPermutation(size: number, seed: number, epoch: number): Uint32Array {
  const order = new Uint32Array(size);
  for (let i = 0; i < size; i++) order[i] = i;
  const rng = new Rng(seed, epoch + 1);
  for (let i = size - 1; i > 0; i--) {
    const j = rng.below(i + 1);
    const t = order[i];
    order[i] = order[j];
    order[j] = t;
  }
  return order;
}
