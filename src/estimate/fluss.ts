// FLUSS (Gharghabi et al., "Matrix Profile VIII", ICDM 2017): regime boundaries from a matrix profile's arcs.

/**
 * The corrected arc curve: every subsequence i draws an arc to its nearest neighbour I[i]; AC[x] counts
 * the arcs passing over x, and CAC[x] = min(1, AC[x] / IAC[x]) with IAC[x] = 2x(n − x)/n, the count
 * expected if neighbours were placed at random. Few arcs cross a boundary between regimes, so CAC dips
 * there. The first and last `edge` positions (default 5 × the window, as stumpy) are set to 1: arcs
 * near the ends are too few to judge.
 */
export function correctedArcCurve(indices: ArrayLike<number>, windowLength: number, edge = 5 * windowLength): Float64Array {
  const n = indices.length;
  const marks = new Float64Array(n + 1);
  for (let i = 0; i < n; i++) {
    const j = indices[i];
    if (j < 0) continue;
    marks[Math.min(i, j)] += 1;
    marks[Math.max(i, j)] -= 1;
  }
  const cac = new Float64Array(n);
  let arcs = 0;
  for (let x = 0; x < n; x++) {
    arcs += marks[x];
    const ideal = (2 * x * (n - x)) / n;
    cac[x] = x < edge || x >= n - edge || ideal <= 0 ? 1 : Math.min(1, arcs / ideal);
  }
  return cac;
}

/**
 * The `regimes − 1` boundaries, lowest CAC first: each is the curve's minimum outside the exclusion
 * zones (`edge` either side) of the boundaries already taken. Returns fewer when the curve runs out.
 */
export function regimeBoundaries(cac: Float64Array, regimes: number, edge: number): { index: number; cac: number }[] {
  const curve = Float64Array.from(cac);
  const found: { index: number; cac: number }[] = [];
  for (let r = 1; r < regimes; r++) {
    let best = -1;
    for (let x = 0; x < curve.length; x++) if (curve[x] < 1 && (best < 0 || curve[x] < curve[best])) best = x;
    if (best < 0) break;
    found.push({ index: best, cac: curve[best] });
    for (let x = Math.max(0, best - edge); x < Math.min(curve.length, best + edge); x++) curve[x] = 1;
  }
  return found;
}
