// Error figures shared by validation and PRE's cross-validation: RMSE, MAPE, R², worst case.

export interface ErrorFigures {
  n: number;
  rmse: number;
  /** Mean absolute percentage error, %. */
  mapePct: number;
  /** Coefficient of determination against the mean of the actual values; null with fewer than 2 or no variance. */
  r2: number | null;
  /** The largest absolute percentage error and where it happened. */
  worst: { name: string; errorPct: number; predicted: number; actual: number } | null;
}

export function errorFigures(pairs: { name: string; predicted: number; actual: number }[]): ErrorFigures {
  const n = pairs.length;
  if (n === 0) return { n: 0, rmse: NaN, mapePct: NaN, r2: null, worst: null };
  const rmse = Math.sqrt(pairs.reduce((s, p) => s + (p.predicted - p.actual) ** 2, 0) / n);
  const pct = pairs.map((p) => ({ ...p, errorPct: (100 * (p.predicted - p.actual)) / Math.abs(p.actual) }));
  const mapePct = pct.reduce((s, p) => s + Math.abs(p.errorPct), 0) / n;
  const mean = pairs.reduce((s, p) => s + p.actual, 0) / n;
  const total = pairs.reduce((s, p) => s + (p.actual - mean) ** 2, 0);
  const r2 = n >= 2 && total > 0 ? 1 - pairs.reduce((s, p) => s + (p.predicted - p.actual) ** 2, 0) / total : null;
  const worst = pct.reduce((a, b) => (Math.abs(b.errorPct) > Math.abs(a.errorPct) ? b : a));
  return { n, rmse, mapePct, r2, worst: { name: worst.name, errorPct: worst.errorPct, predicted: worst.predicted, actual: worst.actual } };
}
