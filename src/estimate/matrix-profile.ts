// The matrix profile of a series (self-join): each subsequence's distance to its nearest non-trivial neighbour, and which one.

export interface MatrixProfile {
  /** Subsequence length. */
  m: number;
  /** Nearest-neighbour distance of the subsequence starting at i. */
  distances: Float64Array;
  /** Start of that neighbour (-1 when there is none outside the exclusion zone). */
  indices: Int32Array;
}

export interface MatrixProfileOptions {
  /**
   * z-normalized Euclidean distance (the matrix profile's usual definition and stumpy's default, what del
   * Rey et al. ran) or plain Euclidean distance, which also sees a change of level with the same shape.
   */
  normalize?: boolean;
  /** Neighbours closer than this many positions are trivial matches; default ceil(m / 4), as stumpy. */
  exclusionZone?: number;
}

/**
 * Matrix profile by walking the diagonals of the distance matrix (STOMP's recurrence): the dot product
 * of subsequences i and j gives that of i+1 and j+1 in O(1), so the whole profile costs O(n²) time and
 * O(n) memory. z-normalized distance: d² = 2m(1 − (QT − m·μi·μj)/(m·σi·σj)); two constant subsequences
 * are at distance 0, a constant and a varying one at √m (stumpy's convention).
 */
export function matrixProfile(series: ArrayLike<number>, m: number, options: MatrixProfileOptions = {}): MatrixProfile {
  const n = series.length;
  const count = n - m + 1;
  if (!(m >= 3) || count < 2) throw new RangeError(`a matrix profile needs a window of at least 3 and a series longer than it (window ${m}, length ${n})`);
  const normalize = options.normalize ?? true;
  const zone = options.exclusionZone ?? Math.ceil(m / 4);
  const t = Float64Array.from(series);
  const mean = new Float64Array(count);
  const std = new Float64Array(count);
  const sumSq = new Float64Array(count);
  for (let i = 0; i < count; i++) {
    let s = 0;
    let s2 = 0;
    for (let k = 0; k < m; k++) {
      s += t[i + k];
      s2 += t[i + k] * t[i + k];
    }
    mean[i] = s / m;
    sumSq[i] = s2;
    const variance = s2 / m - mean[i] * mean[i];
    // Relative to the level: a variance this small is rounding, not signal.
    std[i] = variance > 1e-12 * Math.max(1, mean[i] * mean[i]) ? Math.sqrt(variance) : 0;
  }
  const squared = new Float64Array(count).fill(Infinity);
  const indices = new Int32Array(count).fill(-1);
  const dot = (i: number, j: number) => {
    let s = 0;
    for (let k = 0; k < m; k++) s += t[i + k] * t[j + k];
    return s;
  };
  const distance2 = (i: number, j: number, qt: number) => {
    if (!normalize) return Math.max(0, sumSq[i] + sumSq[j] - 2 * qt);
    if (std[i] === 0 || std[j] === 0) return std[i] === 0 && std[j] === 0 ? 0 : m;
    const correlation = (qt - m * mean[i] * mean[j]) / (m * std[i] * std[j]);
    return Math.max(0, 2 * m * (1 - Math.min(1, correlation)));
  };
  for (let diagonal = zone + 1; diagonal < count; diagonal++) {
    let qt = 0;
    for (let i = 0; i + diagonal < count; i++) {
      const j = i + diagonal;
      // The recurrence drifts by rounding: restart it from a fresh dot product now and then.
      qt = i % 1024 === 0 ? dot(i, j) : qt - t[i - 1] * t[j - 1] + t[i + m - 1] * t[j + m - 1];
      const d2 = distance2(i, j, qt);
      if (d2 < squared[i]) {
        squared[i] = d2;
        indices[i] = j;
      }
      if (d2 < squared[j]) {
        squared[j] = d2;
        indices[j] = i;
      }
    }
  }
  return { m, distances: squared.map(Math.sqrt), indices };
}
