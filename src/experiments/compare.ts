// joule compare: normalized figures side by side, what differs besides the numbers, whether same-config runs followed the same loss curve, and for sweeps the studies' findings.
import { figuresOf, FIGURE_COLUMNS, type ConfigFigures, type RunFigures } from './figures';
import { sweepFindings, type Findings } from './findings';
import { runContext } from './run-context';
import type { RunData } from './run-data';

export interface LossCheck {
  a: string;
  b: string;
  comparable: boolean;
  /** Why not comparable: the configuration fields that differ, or a missing loss curve. */
  reason: string | null;
  steps: number;
  bitwiseEqual: boolean;
  maxAbsDiff: number | null;
  maxRelDiff: number | null;
  /** First step whose relative difference exceeds the tolerance; null when none does. */
  firstDriftStep: number | null;
  tolerance: number;
  ok: boolean;
}

const SAME_CONFIG = ['model', 'dataset', 'seed', 'lbs', 'gbs', 'precision', 'strategy', 'optimizer', 'ranks', 'epochs'];
const CPU_BACKENDS = new Set(['wasm', 'cpu', 'tfjs-node']);

/** Step-by-step loss of `b` against `a`: bitwise equality, largest differences, first drift beyond `tolerance` (relative). */
export function checkLossCurves(a: { label: string; run: RunData }, b: { label: string; run: RunData }, tolerance?: number): LossCheck {
  const [ca, cb] = [runContext(a.run), runContext(b.run)];
  const cpu = CPU_BACKENDS.has(ca['tfjs backend']) && CPU_BACKENDS.has(cb['tfjs backend']);
  // CPU backends compute the same bits for the same inputs, so any difference is drift; GPUs reorder sums.
  const tol = tolerance ?? (cpu ? 0 : 1e-3);
  const base: LossCheck = { a: a.label, b: b.label, comparable: false, reason: null, steps: 0, bitwiseEqual: false, maxAbsDiff: null, maxRelDiff: null, firstDriftStep: null, tolerance: tol, ok: false };
  const differing = SAME_CONFIG.filter((key) => ca[key] !== cb[key]);
  if (differing.length) return { ...base, reason: `configurations differ in ${differing.map((k) => `${k} (${ca[k] ?? '-'} vs ${cb[k] ?? '-'})`).join(', ')}` };
  const la = new Map(a.run.steps.filter((s) => typeof s.loss === 'number').map((s) => [s.step, s.loss!]));
  const lb = b.run.steps.filter((s) => typeof s.loss === 'number' && la.has(s.step));
  if (lb.length === 0) return { ...base, reason: 'no common steps with a loss (steps.jsonl missing or empty)' };
  let maxAbs = 0;
  let maxRel = 0;
  let bitwise = true;
  let drift: number | null = null;
  for (const step of lb) {
    const x = la.get(step.step)!;
    const y = step.loss!;
    if (!Object.is(x, y)) bitwise = false;
    const abs = Math.abs(x - y);
    const rel = abs / Math.max(Math.abs(x), Number.MIN_VALUE);
    maxAbs = Math.max(maxAbs, abs);
    maxRel = Math.max(maxRel, rel);
    if (drift === null && rel > tol) drift = step.step;
  }
  return { ...base, comparable: true, steps: lb.length, bitwiseEqual: bitwise, maxAbsDiff: maxAbs, maxRelDiff: maxRel, firstDriftStep: drift, ok: drift === null };
}

export interface Comparison {
  columns: RunFigures[];
  /** Figure rows: key, label, unit, one value per column. */
  figures: { key: string; label: string; unit: string; values: (number | null)[] }[];
  /** Each column's energy source (nvml-counter, rapl, model, mixed). */
  energySources: (string | null)[];
  /** Context fields whose values differ between columns, with every column's value. */
  differences: { field: string; values: (string | null)[] }[];
  /** Context fields equal everywhere. */
  same: Record<string, string>;
  lossCurves: LossCheck[];
  /** Sweep configurations' repeat counts and spreads, by column. */
  repeats: (ConfigFigures['spread'] & { n?: number } | null)[];
  /** The studies' findings over every sweep configuration compared (fits per model and profile across sweeps); null without a sweep. */
  findings: Findings | null;
}

export function compare(paths: string[], options: { lossTolerance?: number } = {}): Comparison {
  const { figures, runs, configs } = figuresOf(paths);
  const contexts = runs.map((run) => (run ? runContext(run) : {}));
  const fields = [...new Set(contexts.flatMap((c) => Object.keys(c)))];
  const differences = fields
    .map((field) => ({ field, values: contexts.map((c) => c[field] ?? null) }))
    .filter(({ values }) => new Set(values).size > 1);
  const same = Object.fromEntries(fields.filter((f) => !differences.some((d) => d.field === f)).map((f) => [f, contexts[0][f]]));
  const lossCurves = runs.slice(1).flatMap((run, i) => (runs[0] && run ? [checkLossCurves({ label: figures[0].label, run: runs[0] }, { label: figures[i + 1].label, run }, options.lossTolerance)] : []));
  return {
    columns: figures,
    figures: FIGURE_COLUMNS.map(({ key, label, unit }) => ({ key, label, unit, values: figures.map((f) => (typeof f[key] === 'number' ? (f[key] as number) : null)) })),
    energySources: figures.map((f) => f.energySource),
    differences,
    same,
    lossCurves,
    repeats: configs.map((c) => (c ? { ...c.spread, n: c.runs.length } : null)),
    findings: configs.some(Boolean) ? sweepFindings(configs.filter((c): c is ConfigFigures => c !== null)) : null,
  };
}
