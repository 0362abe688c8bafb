// PRE, offline regression (del Rey et al., arXiv 2307.05520): mean power and energy per epoch from features, with nested cross-validation.
import { JouleError } from '../../errors';
import { errorFigures, type ErrorFigures } from '../metrics';
import { featureNames, type FeatureName, type Features, type PreRow } from './features';
import { fitKrr, fitLinear, type KrrParams, type Regressor } from './regressors';

export type PreTarget = 'meanPowerW' | 'energyPerEpochJ';
export type PreKind = 'krr' | 'linear';

const lambdas = [1e-3, 1e-2, 1e-1, 1];
/** Multiples of 1/d for γ (d standardized features: squared distances are of order 2d). */
const gammaScales = [0.1, 0.3, 1, 3];

/** Deterministic shuffle (mulberry32) so folds are the same on every run. */
function shuffled(n: number, seed: number): number[] {
  let a = seed >>> 0;
  const random = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const order = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  return order;
}

function folds(n: number, k: number, seed: number): number[][] {
  const order = shuffled(n, seed);
  return Array.from({ length: k }, (_, f) => order.filter((_, i) => i % k === f));
}

interface Scaler {
  features: FeatureName[];
  mean: number[];
  std: number[];
}

function scaler(rows: Features[], features: FeatureName[]): Scaler {
  const mean = features.map((f) => rows.reduce((s, r) => s + r[f]!, 0) / rows.length);
  const std = features.map((f, i) => Math.sqrt(rows.reduce((s, r) => s + (r[f]! - mean[i]) ** 2, 0) / rows.length) || 1);
  return { features, mean, std };
}

const scale = (s: Scaler, row: Features) => s.features.map((f, i) => (row[f]! - s.mean[i]) / s.std[i]);

/** A fitted PRE model: standardization, the regressor, and the features it uses. */
export interface PreModel {
  kind: PreKind;
  target: PreTarget;
  features: FeatureName[];
  params?: KrrParams;
  source: string;
  rows: number;
  predict(features: Features): number;
}

function fitScaled(kind: PreKind, rows: Features[], y: number[], features: FeatureName[], params?: KrrParams): { s: Scaler; r: Regressor } {
  const s = scaler(rows, features);
  const x = rows.map((row) => scale(s, row));
  return { s, r: kind === 'krr' ? fitKrr(x, y, params!) : fitLinear(x, y) };
}

/** λ and γ with the lowest k-fold RMSE on these rows. */
function selectParams(rows: Features[], y: number[], features: FeatureName[], seed: number): KrrParams {
  const k = Math.min(5, rows.length);
  const parts = folds(rows.length, k, seed);
  let best: { params: KrrParams; sse: number } | null = null;
  for (const lambda of lambdas) {
    for (const scaleFactor of gammaScales) {
      const params = { lambda, gamma: scaleFactor / features.length };
      let sse = 0;
      for (const test of parts) {
        const train = rows.map((_, i) => i).filter((i) => !test.includes(i));
        const { s, r } = fitScaled('krr', train.map((i) => rows[i]), train.map((i) => y[i]), features, params);
        for (const i of test) sse += (r.predict(scale(s, rows[i])) - y[i]) ** 2;
      }
      if (!best || sse < best.sse) best = { params, sse };
    }
  }
  return best!.params;
}

/** The rows that have the target, one source (measured rows win over model rows), and the features all of them have and that vary. */
export function trainingSet(rows: PreRow[], target: PreTarget): { rows: PreRow[]; features: FeatureName[]; dropped: string[]; source: string } {
  const withTarget = rows.filter((r) => Number.isFinite(r[target]) && r[target]! > 0);
  const measured = withTarget.filter((r) => r.source !== 'model');
  const chosen = measured.length > 0 ? measured : withTarget;
  const dropped: string[] = [];
  const features = featureNames.filter((f) => {
    const values = chosen.map((r) => r.features[f]);
    if (values.some((v) => v === undefined || !Number.isFinite(v))) {
      dropped.push(`${f} (missing in some rows)`);
      return false;
    }
    if (new Set(values).size < 2) {
      dropped.push(`${f} (the same in every row)`);
      return false;
    }
    return true;
  });
  return { rows: chosen, features, dropped, source: [...new Set(chosen.map((r) => r.source))].sort().join('+') || 'none' };
}

export interface PreEvaluation {
  kind: PreKind;
  target: PreTarget;
  features: FeatureName[];
  dropped: string[];
  source: string;
  /** Held-out predictions of k-fold cross-validation (hyper-parameters chosen inside each training part). */
  crossValidation: ErrorFigures & { folds: number };
  model: PreModel;
}

export const minimumRows = 5;

/** Trains a PRE model on past runs and reports its cross-validated R², MAPE and RMSE. */
export function trainPre(all: PreRow[], target: PreTarget, kind: PreKind, seed = 1): PreEvaluation {
  const { rows, features, dropped, source } = trainingSet(all, target);
  if (rows.length < minimumRows) {
    throw new JouleError('JOULE_BAD_ARGUMENT', `PRE needs at least ${minimumRows} past runs with ${target} (have ${rows.length})`);
  }
  if (features.length === 0) throw new JouleError('JOULE_BAD_ARGUMENT', `PRE: no feature is known for every run and varies between them (${dropped.join('; ')})`);
  const x = rows.map((r) => r.features);
  const y = rows.map((r) => r[target]!);
  const k = Math.min(5, rows.length);
  const pairs: { name: string; predicted: number; actual: number }[] = [];
  for (const test of folds(rows.length, k, seed)) {
    const train = rows.map((_, i) => i).filter((i) => !test.includes(i));
    const trainX = train.map((i) => x[i]);
    const trainY = train.map((i) => y[i]);
    const params = kind === 'krr' ? selectParams(trainX, trainY, features, seed + 1) : undefined;
    const { s, r } = fitScaled(kind, trainX, trainY, features, params);
    for (const i of test) pairs.push({ name: rows[i].name, predicted: r.predict(scale(s, x[i])), actual: y[i] });
  }
  const params = kind === 'krr' ? selectParams(x, y, features, seed + 1) : undefined;
  const { s, r } = fitScaled(kind, x, y, features, params);
  const model: PreModel = {
    kind,
    target,
    features,
    params,
    source,
    rows: rows.length,
    predict: (query) => {
      const absent = features.filter((f) => !Number.isFinite(query[f]));
      if (absent.length) throw new JouleError('JOULE_BAD_ARGUMENT', `PRE model needs ${absent.join(', ')}`);
      return r.predict(scale(s, query));
    },
  };
  return { kind, target, features, dropped, source, crossValidation: { ...errorFigures(pairs), folds: k }, model };
}
