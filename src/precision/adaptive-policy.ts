// The adaptive precision policy: walks down the precision ladder while measured energy per step drops and
// the wire error stays in bounds, back up on any violation, and records why each change happened.
import { JouleError } from '../errors';
import { addStep, emptyWindow, joules, percent, precisionLadder, rungIndex, sci, summarize, type WindowSums, type WindowSummary } from './ladder';
import { LossScaler, type LossScalerOptions } from './loss-scaler';
import type { Precision, PrecisionDecision, PrecisionObservation, PrecisionPolicy } from './policy';

type RungPair = { compute: Precision; wire: Precision };

export interface AdaptivePolicyOptions {
  /** The rung training starts at (default f32/f32: the policy earns every step down). */
  start?: RungPair;
  /** The lowest rung it may reach (default f16/f16, the bottom of the ladder); at or below `start`. */
  floor?: RungPair;
  /** Observed steps per window: one measurement of a rung (default 100). */
  windowSteps?: number;
  /** Largest wire relError of any step (default 1e-2; bf16 rounding alone gives about 2e-3). */
  maxRelError?: number;
  /** Largest share of one step's wire values that may underflow to zero (default 1e-3). */
  maxUnderflowFraction?: number;
  /** Largest share of a window's steps the loss scaler may skip (default 0.1). */
  maxSkippedFraction?: number;
  /** Energy per step must drop by at least this share to keep a lower rung (default 0.05: above NVML's window-to-window noise). */
  minSavingFraction?: number;
  /** Let energy from the model count as evidence (default false: only nvml or rapl measurements). */
  allowModelEnergy?: boolean;
  /** Windows before a rejected or violating rung is tried again (default 50; 0: never again). */
  retryAfterWindows?: number;
  /** The LossScaler options of rungs that need loss scaling (default {}: GradScaler's). */
  lossScaling?: LossScalerOptions;
}

type ResolvedOptions = Required<AdaptivePolicyOptions>;

const defaults: ResolvedOptions = {
  start: { compute: 'f32', wire: 'f32' },
  floor: { compute: 'f16', wire: 'f16' },
  windowSteps: 100,
  maxRelError: 1e-2,
  maxUnderflowFraction: 1e-3,
  maxSkippedFraction: 0.1,
  minSavingFraction: 0.05,
  allowModelEnergy: false,
  retryAfterWindows: 50,
  lossScaling: {},
};

/**
 * One entry of history(): `trial` moves down to try a rung for one window, `keep` keeps it (energy
 * dropped enough, bounds held), `reject` returns up (too little saving, or no evidence), `up` returns up
 * for a bound violation, `hold` notes why the policy stayed (each kind once in a row). `step` is the first
 * step at the new rung for moves, the step that closed the window (or broke the bound) otherwise.
 */
export interface PrecisionChange {
  step: number;
  from: string;
  to: string;
  event: 'trial' | 'keep' | 'reject' | 'up' | 'hold';
  reason: string;
}

/** Everything needed to resume exactly; plain JSON. */
export interface AdaptivePolicyState {
  kind: 'adaptive';
  ladder: string[];
  options: ResolvedOptions;
  /** Index into the ladder. */
  rung: number;
  /** `measure`: the next window measures this rung; `trial`: it decides whether this rung is kept. */
  phase: 'measure' | 'trial';
  /** The step this rung took effect at (observations of earlier steps belong to the previous rung). */
  rungSince: number | null;
  window: WindowSums;
  /** During a trial: the window of the rung above it, the one to beat. */
  baseline: WindowSummary | null;
  /** A move decided by observe(), applied by the next decide(). */
  pending: { to: number; event: PrecisionChange['event']; reason: string } | null;
  windowsDone: number;
  /** Rung label → the windowsDone count from which it may be tried again (null: never). */
  bannedUntil: Record<string, number | null>;
  history: PrecisionChange[];
  /** The kind of the last hold entry, so a run of identical holds is written once. */
  holdKey: string | null;
}

function badOption(message: string): JouleError {
  return new JouleError('JOULE_BAD_ARGUMENT', `AdaptivePolicy: ${message}`);
}

function resolve(options: AdaptivePolicyOptions): ResolvedOptions {
  if (options === null || typeof options !== 'object') throw badOption('options must be an object');
  for (const key of Object.keys(options)) {
    if (!(key in defaults)) throw badOption(`unknown option ${JSON.stringify(key)} (known: ${Object.keys(defaults).join(', ')})`);
  }
  const o: ResolvedOptions = { ...defaults, ...(Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) as AdaptivePolicyOptions) };
  const labels = precisionLadder.map((r) => r.label).join(', ');
  for (const name of ['start', 'floor'] as const) {
    if (rungIndex(o[name]) < 0) throw badOption(`${name} must be a rung of the ladder (${labels}), got ${JSON.stringify(o[name])}`);
    o[name] = { compute: o[name].compute, wire: o[name].wire };
  }
  if (rungIndex(o.floor) < rungIndex(o.start)) throw badOption(`floor ${o.floor.compute}/${o.floor.wire} is above start ${o.start.compute}/${o.start.wire}`);
  const integer = (name: 'windowSteps' | 'retryAfterWindows', min: number) => {
    if (!Number.isInteger(o[name]) || o[name] < min) throw badOption(`${name} must be an integer ≥ ${min} (got ${String(o[name])})`);
  };
  integer('windowSteps', 1);
  integer('retryAfterWindows', 0);
  for (const name of ['maxRelError', 'maxUnderflowFraction', 'maxSkippedFraction', 'minSavingFraction'] as const) {
    const value = o[name];
    const max = name === 'maxRelError' ? Infinity : 1;
    if (typeof value !== 'number' || !(value >= 0 && value < max) || !Number.isFinite(value)) {
      throw badOption(`${name} must be a finite number in [0, ${max === 1 ? '1)' : '∞)'} (got ${String(value)})`);
    }
  }
  if (typeof o.allowModelEnergy !== 'boolean') throw badOption(`allowModelEnergy must be a boolean (got ${String(o.allowModelEnergy)})`);
  try {
    new LossScaler(o.lossScaling);
  } catch (error) {
    throw badOption(`lossScaling: ${(error as Error).message}`);
  }
  o.lossScaling = { ...o.lossScaling };
  return o;
}

/** JSON with sorted keys, so two option sets compare by content. */
function canonical(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
  return `{${entries.sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
}

function checkObservation(o: PrecisionObservation): void {
  const bad = (message: string) => new JouleError('JOULE_BAD_ARGUMENT', `AdaptivePolicy.observe: ${message}`);
  if (o === null || typeof o !== 'object') throw bad('needs an observation object');
  if (!Number.isInteger(o.step) || o.step < 0) throw bad(`step must be a non-negative integer (got ${String(o.step)})`);
  if (typeof o.durationS !== 'number' || !(o.durationS >= 0) || !Number.isFinite(o.durationS)) throw bad(`durationS must be a finite number ≥ 0 (got ${String(o.durationS)})`);
  if (typeof o.skipped !== 'boolean') throw bad('skipped must be a boolean');
  if (o.energyJ !== undefined) {
    if (typeof o.energyJ !== 'number' || !(o.energyJ >= 0) || !Number.isFinite(o.energyJ)) throw bad(`energyJ must be a finite number ≥ 0 (got ${String(o.energyJ)})`);
    // An energy figure without its source could be a model passed off as a measurement.
    if (!['nvml', 'rapl', 'model'].includes(o.energySource as string)) throw bad(`energyJ needs energySource 'nvml', 'rapl' or 'model' (got ${String(o.energySource)})`);
  }
  if (o.loss !== undefined && typeof o.loss !== 'number') throw bad('loss must be a number');
  if (o.wireStats !== undefined) {
    for (const key of ['relError', 'underflow', 'overflow', 'sumSquaredError', 'sumSquared', 'count'] as const) {
      const value = o.wireStats?.[key];
      if (typeof value !== 'number' || !(value >= 0) || !Number.isFinite(value)) throw bad(`wireStats.${key} must be a finite number ≥ 0 (got ${String(value)})`);
    }
  }
}

/**
 * Starts at `start`; judges its rung one window of `windowSteps` observed steps at a time:
 * - A `measure` window with energy evidence (every step's energy measured — or modelled, with
 *   allowModelEnergy — from one source) becomes the baseline, and the next rung down (not past `floor`,
 *   not banned) is tried for one window. A window without evidence changes nothing (a `hold` entry says why).
 * - The trial is kept when its energy per step is at least `minSavingFraction` below the baseline's,
 *   from the same source, with wire statistics on every step (wire below f32); that window is then the
 *   new baseline and the next rung is tried. Otherwise it returns to the rung above.
 * - Any bound violation — a step's wire relError > maxRelError, its underflow/count >
 *   maxUnderflowFraction, wire overflow on a step that was not skipped, a non-finite loss, or more than
 *   maxSkippedFraction × windowSteps skipped steps in the window — moves up one rung at the next decide().
 * A rejected or violating rung is banned for `retryAfterWindows` windows. Moves happen in decide(), so
 * a history entry names the first step at the new rung; observations of earlier steps are dropped.
 */
export class AdaptivePolicy implements PrecisionPolicy {
  readonly kind = 'adaptive' as const;
  private s: AdaptivePolicyState;

  constructor(options: AdaptivePolicyOptions = {}) {
    const resolved = resolve(options);
    this.s = {
      kind: 'adaptive',
      ladder: precisionLadder.map((r) => r.label),
      options: resolved,
      rung: rungIndex(resolved.start),
      phase: 'measure',
      rungSince: null,
      window: emptyWindow(),
      baseline: null,
      pending: null,
      windowsDone: 0,
      bannedUntil: {},
      history: [],
      holdKey: null,
    };
  }

  decide(step: number): PrecisionDecision {
    if (!Number.isInteger(step) || step < 0) throw new JouleError('JOULE_BAD_ARGUMENT', `AdaptivePolicy.decide: step must be a non-negative integer (got ${String(step)})`);
    const s = this.s;
    if (s.pending) {
      s.history.push({ step, from: this.label(), to: this.label(s.pending.to), event: s.pending.event, reason: s.pending.reason });
      s.holdKey = null;
      s.rung = s.pending.to;
      s.rungSince = step;
      s.window = emptyWindow();
      s.pending = null;
    }
    s.rungSince ??= step;
    const rung = precisionLadder[s.rung];
    return { compute: rung.compute, wire: rung.wire, lossScaling: rung.lossScaling ? { ...s.options.lossScaling } : false };
  }

  observe(observation: PrecisionObservation): void {
    checkObservation(observation);
    const s = this.s;
    if (s.pending || (s.rungSince !== null && observation.step < s.rungSince)) return;
    addStep(s.window, observation, s.options.allowModelEnergy);
    const violation = this.violation(observation);
    if (violation) {
      this.onViolation(observation.step, violation);
    } else if (s.window.steps >= s.options.windowSteps) {
      this.endWindow(observation.step);
    }
  }

  /** Every move and notable hold so far, oldest first (copies). */
  history(): PrecisionChange[] {
    return this.s.history.map((entry) => ({ ...entry }));
  }

  state(): AdaptivePolicyState {
    return JSON.parse(JSON.stringify(this.s)) as AdaptivePolicyState;
  }

  /** Restores state() output: only from an adaptive policy with the same ladder and the same options. */
  load(state: unknown): void {
    const bad = (message: string) => new JouleError('JOULE_BAD_ARGUMENT', `AdaptivePolicy.load: ${message}`);
    const st = state as AdaptivePolicyState;
    if (st === null || typeof st !== 'object') throw bad('needs a state object from state()');
    if (st.kind !== 'adaptive') throw bad(`the state is from a ${String(st.kind ?? 'static')} policy, not an adaptive one`);
    if (canonical(st.ladder) !== canonical(this.s.ladder)) throw bad(`the state's ladder ${JSON.stringify(st.ladder)} is not this version's ${JSON.stringify(this.s.ladder)}`);
    const differing = Object.keys(defaults).filter((key) => canonical(st.options?.[key as keyof ResolvedOptions]) !== canonical(this.s.options[key as keyof ResolvedOptions]));
    if (differing.length > 0) {
      throw bad(`the checkpoint was made with other options (${differing.map((k) => `${k}: ${canonical(st.options?.[k as keyof ResolvedOptions])} there, ${canonical(this.s.options[k as keyof ResolvedOptions])} here`).join('; ')})`);
    }
    const index = (value: unknown) => Number.isInteger(value) && (value as number) >= 0 && (value as number) < precisionLadder.length;
    const checks: [boolean, string][] = [
      [index(st.rung), 'rung'],
      [st.phase === 'measure' || st.phase === 'trial', 'phase'],
      [st.rungSince === null || (Number.isInteger(st.rungSince) && st.rungSince >= 0), 'rungSince'],
      [typeof st.window === 'object' && st.window !== null && Object.keys(emptyWindow()).every((k) => k in st.window), 'window'],
      [st.phase === 'measure' || (st.baseline !== null && typeof st.baseline === 'object'), 'baseline'],
      [st.pending === null || (index(st.pending?.to) && typeof st.pending.reason === 'string'), 'pending'],
      [Number.isInteger(st.windowsDone) && st.windowsDone >= 0, 'windowsDone'],
      [typeof st.bannedUntil === 'object' && st.bannedUntil !== null, 'bannedUntil'],
      [Array.isArray(st.history), 'history'],
      [st.holdKey === null || typeof st.holdKey === 'string', 'holdKey'],
    ];
    const broken = checks.filter(([ok]) => !ok).map(([, name]) => name);
    if (broken.length > 0) throw bad(`the state's ${broken.join(', ')} ${broken.length > 1 ? 'are' : 'is'} malformed`);
    this.s = JSON.parse(JSON.stringify(st)) as AdaptivePolicyState;
  }

  private label(index = this.s.rung): string {
    return precisionLadder[index].label;
  }

  private violation(o: PrecisionObservation): string | null {
    const { options, window } = this.s;
    if (o.loss !== undefined && !Number.isFinite(o.loss)) return `the loss was ${o.loss} at step ${o.step}`;
    const w = o.wireStats;
    if (w && w.relError > options.maxRelError) return `wire relError ${sci(w.relError)} > ${sci(options.maxRelError)} at step ${o.step}`;
    if (w && w.count > 0 && w.underflow / w.count > options.maxUnderflowFraction) {
      return `${w.underflow} of ${w.count} wire values underflowed to zero at step ${o.step} (${sci(w.underflow / w.count)} > ${sci(options.maxUnderflowFraction)})`;
    }
    if (w && w.overflow > 0 && !o.skipped) return `${w.overflow} wire values overflowed to ±Inf at step ${o.step}, which was not skipped`;
    // Checked as skips arrive: once the count passes the bound, the window cannot end within it.
    if (window.skipped > options.maxSkippedFraction * options.windowSteps) {
      return `${window.skipped} of the window's ${options.windowSteps} steps were skipped by step ${o.step} (more than ${(options.maxSkippedFraction * 100).toFixed(1)} %)`;
    }
    return null;
  }

  private onViolation(step: number, what: string): void {
    const s = this.s;
    if (s.rung === 0) {
      this.hold('top', step, `${what}; ${this.label()} is the top rung, there is nothing more precise to move to`);
      return;
    }
    this.moveUp('up', what);
  }

  private moveUp(event: 'up' | 'reject', why: string): void {
    const s = this.s;
    const retry = s.options.retryAfterWindows;
    s.bannedUntil[this.label()] = retry === 0 ? null : s.windowsDone + retry;
    const again = retry === 0 ? 'not to be tried again' : `not tried again for ${retry} windows`;
    s.pending = { to: s.rung - 1, event, reason: `${why}; back to ${this.label(s.rung - 1)}, ${this.label()} ${again}` };
    s.phase = 'measure';
    s.baseline = null;
  }

  private endWindow(step: number): void {
    const s = this.s;
    s.windowsDone++;
    const summary = summarize(s.window);
    s.window = emptyWindow();
    if (s.phase === 'trial') {
      this.judgeTrial(step, summary);
    } else if (summary.noEvidence) {
      this.hold(summary.noEvidence.kind, step, `no evidence at ${this.label()}: ${summary.noEvidence.text}; staying`);
    } else {
      s.baseline = summary;
      this.tryLower();
    }
  }

  private judgeTrial(step: number, trial: WindowSummary): void {
    const s = this.s;
    const base = s.baseline as WindowSummary;
    const [here, above] = [this.label(), this.label(s.rung - 1)];
    if (trial.noEvidence) return this.moveUp('reject', `no evidence at ${here}: ${trial.noEvidence.text}`);
    if (trial.source !== base.source) return this.moveUp('reject', `energy at ${here} came from ${trial.source}, at ${above} from ${base.source}: not comparable`);
    if (!trial.complete && precisionLadder[s.rung].wire !== 'f32') {
      return this.moveUp('reject', `some steps at ${here} carried no wire statistics, so its error is unverified`);
    }
    const [before, after] = [base.energyPerStepJ as number, trial.energyPerStepJ as number];
    const change = `energy per step ${joules(before)} → ${joules(after)} (${percent(after / before - 1)}, ${trial.source})`;
    if (after > before * (1 - s.options.minSavingFraction)) {
      return this.moveUp('reject', `${change}: less than the ${(s.options.minSavingFraction * 100).toFixed(1)} % saving required`);
    }
    const bounds = `relError ${sci(trial.relErrorMax)} ≤ ${sci(s.options.maxRelError)}, underflow ${sci(trial.underflowFraction)} ≤ ${sci(s.options.maxUnderflowFraction)}, ${(trial.skippedFraction * 100).toFixed(1)} % of steps skipped`;
    s.history.push({ step, from: here, to: here, event: 'keep', reason: `${change} with ${bounds}` });
    s.holdKey = null;
    s.phase = 'measure';
    s.baseline = trial;
    this.tryLower();
  }

  /** After a measurement: try the next rung down for one window, unless it is past the floor or banned. */
  private tryLower(): void {
    const s = this.s;
    const next = s.rung + 1;
    if (next > rungIndex(s.options.floor)) return;
    const until = s.bannedUntil[this.label(next)];
    if (until === null || (until !== undefined && s.windowsDone < until)) return;
    const base = s.baseline as WindowSummary;
    s.pending = {
      to: next,
      event: 'trial',
      reason: `${this.label()} measured ${joules(base.energyPerStepJ as number)} per step (${base.source}, ${base.steps} steps); trying ${this.label(next)} for one window`,
    };
    s.phase = 'trial';
  }

  private hold(key: string, step: number, reason: string): void {
    if (this.s.holdKey === key) return;
    this.s.history.push({ step, from: this.label(), to: this.label(), event: 'hold', reason });
    this.s.holdKey = key;
  }
}
