// The adaptive precision policy: walks down the precision ladder while measured energy per step drops and
// the wire error stays in bounds, back up on any violation, and records why each change happened.
import { JouleError } from '../errors';
import { adaptiveDefaults, canonical, checkObservation, resolveOptions, type AdaptivePolicyOptions, type ResolvedOptions } from './adaptive-options';
import { addStep, emptyWindow, joules, percent, precisionLadder, rungIndex, sci, summarize, type WindowSums, type WindowSummary } from './ladder';
import type { PrecisionDecision, PrecisionObservation, PrecisionPolicy } from './policy';

export type { AdaptivePolicyOptions } from './adaptive-options';

/**
 * One entry of history(): `trial` moves down to try a rung for one window, `keep` keeps it (energy
 * dropped enough, bounds held), `reject` returns up (too little saving, or no evidence), `up` returns up
 * for a bound violation, `hold` notes why the policy stayed (each kind once in a row). `step` is the first
 * step at the new rung for moves, the step that closed the window (or broke the bound) otherwise.
 */
export interface PrecisionHistoryEntry {
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
  /** Observed steps of this rung still to be left out of its window. */
  warmupLeft: number;
  window: WindowSums;
  /** During a trial: the window of the rung above it, the one to beat. */
  baseline: WindowSummary | null;
  /** A move decided by observe(), applied by the next decide(). */
  pending: { to: number; event: PrecisionHistoryEntry['event']; reason: string } | null;
  windowsDone: number;
  /** Rung label → the windowsDone count from which it may be tried again (null: never). */
  bannedUntil: Record<string, number | null>;
  history: PrecisionHistoryEntry[];
  /** The kind of the last hold entry, so a run of identical holds is written once. */
  holdKey: string | null;
}

/**
 * Starts at `start`; judges its rung one window of `windowSteps` observed steps at a time, after
 * `warmupSteps` steps at each new rung:
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
    const resolved = resolveOptions(options);
    this.s = {
      kind: 'adaptive',
      ladder: precisionLadder.map((r) => r.label),
      options: resolved,
      rung: rungIndex(resolved.start),
      phase: 'measure',
      rungSince: null,
      warmupLeft: resolved.warmupSteps,
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
      s.warmupLeft = s.options.warmupSteps;
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
    const warmup = s.warmupLeft > 0;
    if (warmup) s.warmupLeft--;
    else addStep(s.window, observation, s.options.allowModelEnergy);
    const violation = this.violation(observation);
    if (violation) {
      this.onViolation(observation.step, violation);
    } else if (!warmup && s.window.steps >= s.options.windowSteps) {
      this.endWindow(observation.step);
    }
  }

  /** Every move and notable hold so far, oldest first (copies). */
  history(): PrecisionHistoryEntry[] {
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
    const differing = Object.keys(adaptiveDefaults).filter((key) => canonical(st.options?.[key as keyof ResolvedOptions]) !== canonical(this.s.options[key as keyof ResolvedOptions]));
    if (differing.length > 0) {
      throw bad(`the checkpoint was made with other options (${differing.map((k) => `${k}: ${canonical(st.options?.[k as keyof ResolvedOptions])} there, ${canonical(this.s.options[k as keyof ResolvedOptions])} here`).join('; ')})`);
    }
    const index = (value: unknown) => Number.isInteger(value) && (value as number) >= 0 && (value as number) < precisionLadder.length;
    const checks: [boolean, string][] = [
      [index(st.rung), 'rung'],
      [st.phase === 'measure' || st.phase === 'trial', 'phase'],
      [st.rungSince === null || (Number.isInteger(st.rungSince) && st.rungSince >= 0), 'rungSince'],
      [Number.isInteger(st.warmupLeft) && st.warmupLeft >= 0 && st.warmupLeft <= st.options.warmupSteps, 'warmupLeft'],
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
