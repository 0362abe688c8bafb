// joule recommend: the Pareto front of energy, time and accuracy over a sweep's configurations, and the configuration that best meets the constraints, with ties where repeats overlap.
import { JouleError } from '../errors';
import { spread, sweepConfigs, type ConfigFigures, type Spread } from './figures';

export type Objective = 'energy' | 'time' | 'edp';

export interface Candidate {
  config: string;
  params: Record<string, string | number>;
  /** Energy of one run (J), wall time (s), held-out accuracy, energy-delay product (J s): each over the repeats. */
  energyJ: Spread | null;
  timeS: Spread | null;
  accuracy: Spread | null;
  edpJs: Spread | null;
  energySource: string | null;
  repeats: number;
  failedRepeats: string[];
  pareto: boolean;
  feasible: boolean;
  /** Why not feasible. */
  excludedBy: string[];
}

export interface Recommendation {
  sweep: string;
  objective: Objective;
  constraints: { maxTimeS: number | null; minAccuracy: number | null };
  candidates: Candidate[];
  /** The feasible configuration with the lowest mean objective; null when none is feasible. */
  best: string | null;
  /** Feasible configurations whose repeats' range of the objective overlaps the best one's: not beaten, a tie. */
  ties: string[];
  verdict: string;
}

function objectiveOf(candidate: Candidate, objective: Objective): Spread | null {
  return objective === 'energy' ? candidate.energyJ : objective === 'time' ? candidate.timeS : candidate.edpJs;
}

/** a dominates b: no worse in energy, time and accuracy (when both have it), better in at least one. */
function dominates(a: Candidate, b: Candidate, useAccuracy: boolean): boolean {
  const pairs: [number, number][] = [
    [a.energyJ!.mean, b.energyJ!.mean],
    [a.timeS!.mean, b.timeS!.mean],
  ];
  // Accuracy is better when higher: negate it so every dimension is "lower is better".
  if (useAccuracy) pairs.push([-a.accuracy!.mean, -b.accuracy!.mean]);
  return pairs.every(([x, y]) => x <= y) && pairs.some(([x, y]) => x < y);
}

function candidateOf(config: ConfigFigures): Candidate {
  const values = (pick: (r: ConfigFigures['runs'][number]) => number | null) => config.runs.map(pick).filter((v): v is number => v !== null);
  return {
    config: config.config,
    params: config.params,
    energyJ: spread(values((r) => r.energyJ)),
    timeS: spread(values((r) => r.durationS)),
    accuracy: spread(values((r) => r.finalAccuracy)),
    edpJs: spread(values((r) => (r.energyJ === null || r.durationS === null ? null : r.energyJ * r.durationS))),
    energySource: config.mean.energySource,
    repeats: config.runs.length,
    failedRepeats: config.failed,
    pareto: false,
    feasible: true,
    excludedBy: [],
  };
}

export function recommend(dir: string, options: { objective?: Objective; maxTimeS?: number; minAccuracy?: number } = {}): Recommendation {
  const objective = options.objective ?? 'energy';
  const configs = sweepConfigs(dir);
  if (configs.length === 0) throw new JouleError('JOULE_BAD_ARGUMENT', `${dir}: no configuration has a succeeded run yet; run or resume the sweep first`);
  const candidates = configs.map(candidateOf);
  const sources = [...new Set(candidates.map((c) => c.energySource))];
  if (sources.length > 1) {
    // A modelled joule and a measured one are different quantities: ranking one against the other would mislead.
    throw new JouleError('JOULE_BAD_ARGUMENT', `${dir}: configurations' energy comes from different sources (${sources.join(', ')}); rerun the sweep where the same source is available to all`, { sources });
  }
  const ranked = candidates.filter((c) => c.energyJ && c.timeS);
  const useAccuracy = ranked.length > 0 && ranked.every((c) => c.accuracy);
  for (const c of ranked) c.pareto = !ranked.some((other) => other !== c && dominates(other, c, useAccuracy));
  for (const c of candidates) {
    if (!c.energyJ) c.excludedBy.push('no energy figure');
    if (!c.timeS) c.excludedBy.push('no wall time');
    if (options.maxTimeS !== undefined && c.timeS && c.timeS.mean > options.maxTimeS) c.excludedBy.push(`time ${c.timeS.mean.toPrecision(4)} s > ${options.maxTimeS} s`);
    if (options.minAccuracy !== undefined && (!c.accuracy || c.accuracy.mean < options.minAccuracy)) c.excludedBy.push(c.accuracy ? `accuracy ${c.accuracy.mean.toPrecision(4)} < ${options.minAccuracy}` : 'no accuracy recorded');
    c.feasible = c.excludedBy.length === 0;
  }
  const feasible = candidates.filter((c) => c.feasible).sort((a, b) => objectiveOf(a, objective)!.mean - objectiveOf(b, objective)!.mean);
  const best = feasible[0] ?? null;
  const ties = best
    ? feasible.slice(1).filter((c) => {
        const [x, y] = [objectiveOf(best, objective)!, objectiveOf(c, objective)!];
        return y.min <= x.max && x.min <= y.max;
      })
    : [];
  const unit = objective === 'energy' ? 'J' : objective === 'time' ? 's' : 'J s';
  const describe = (c: Candidate) => {
    const s = objectiveOf(c, objective)!;
    return `${c.config} (${objective} ${s.mean.toPrecision(4)} ${unit}, range ${s.min.toPrecision(4)}-${s.max.toPrecision(4)} over ${s.n} run${s.n > 1 ? 's' : ''})`;
  };
  let verdict: string;
  if (!best) verdict = 'no configuration meets the constraints';
  else if (ties.length) verdict = `no clear winner on ${objective}: ${describe(best)} ties with ${ties.map(describe).join(', ')} (their repeats overlap); more repeats or a secondary objective decide`;
  else verdict = `${describe(best)}${best.repeats < 2 ? '; one run per configuration: repeat the sweep (--repeat 3) to know the spread' : ''}`;
  return {
    sweep: configs[0].sweep,
    objective,
    constraints: { maxTimeS: options.maxTimeS ?? null, minAccuracy: options.minAccuracy ?? null },
    candidates,
    best: best?.config ?? null,
    ties: ties.map((c) => c.config),
    verdict,
  };
}
