// The two PRE regressors on standardized features: kernel ridge regression with an RBF kernel, and a linear baseline.
import { solveSpd } from './solve';

export interface Regressor {
  predict(x: number[]): number;
}

export interface KrrParams {
  /** Ridge penalty λ. */
  lambda: number;
  /** RBF width: k(x, x') = exp(−γ‖x − x'‖²). */
  gamma: number;
}

export function rbf(a: number[], b: number[], gamma: number): number {
  let d2 = 0;
  for (let i = 0; i < a.length; i++) d2 += (a[i] - b[i]) ** 2;
  return Math.exp(-gamma * d2);
}

/**
 * Kernel ridge regression: α = (K + λI)⁻¹ (y − ȳ), f(x) = ȳ + Σ_i α_i k(x_i, x). y is centred so that
 * far from the training points the prediction falls back to the mean, not to 0 (scikit-learn's
 * KernelRidge does not centre; with standardized targets the two agree).
 */
export function fitKrr(x: number[][], y: number[], { lambda, gamma }: KrrParams): Regressor {
  const n = x.length;
  const mean = y.reduce((a, b) => a + b, 0) / n;
  const k = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) k[i * n + j] = rbf(x[i], x[j], gamma) + (i === j ? lambda : 0);
  const alpha = solveSpd(k, Float64Array.from(y, (v) => v - mean), n);
  return { predict: (q) => mean + x.reduce((s, xi, i) => s + alpha[i] * rbf(xi, q, gamma), 0) };
}

/** Least squares with an intercept, f(x) = b + w·x; a tiny ridge (1e-8) keeps collinear features solvable. */
export function fitLinear(x: number[][], y: number[]): Regressor {
  const d = x[0]?.length ?? 0;
  const p = d + 1;
  const ata = new Float64Array(p * p);
  const aty = new Float64Array(p);
  x.forEach((row, r) => {
    const a = [1, ...row];
    for (let i = 0; i < p; i++) {
      aty[i] += a[i] * y[r];
      for (let j = 0; j < p; j++) ata[i * p + j] += a[i] * a[j];
    }
  });
  for (let i = 1; i < p; i++) ata[i * p + i] += 1e-8 * x.length;
  const w = solveSpd(ata, aty, p);
  return { predict: (q) => w[0] + q.reduce((s, v, i) => s + w[i + 1] * v, 0) };
}
