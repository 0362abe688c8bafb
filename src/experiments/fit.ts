// The energy ≈ k × device-hours law (Huber et al., arXiv 2508.07706): a least-squares line through the origin and its R².
export function fitThroughOrigin(points: [number, number][]): { k: number | null; r2: number | null; n: number } {
  const n = points.length;
  const sxx = points.reduce((s, [x]) => s + x * x, 0);
  if (n === 0 || sxx === 0) return { k: null, r2: null, n };
  const k = points.reduce((s, [x, y]) => s + x * y, 0) / sxx;
  const mean = points.reduce((s, [, y]) => s + y, 0) / n;
  const total = points.reduce((s, [, y]) => s + (y - mean) ** 2, 0);
  const residual = points.reduce((s, [x, y]) => s + (y - k * x) ** 2, 0);
  // R² against the mean (1 − SSres/SStot); undefined with a single point or identical energies.
  return { k, r2: n > 1 && total > 0 ? 1 - residual / total : null, n };
}
