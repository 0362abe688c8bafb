// What both training loops (data parallel: trainer.ts; pipeline: pipeline/trainer.ts) do between steps and
// epochs, written once: the precision decision and the loss scaler, one metrics allreduce per step (the job's
// figures, wire statistics, the stop flag and the energy of the step ENERGY_LAG back), each step's record held
// until its energy is known, then written and shown to the policy, progress, checkpoints and checksums; at an
// epoch's end the energy drain, the epoch record, the projection and the energy budget.
import type { Communicator } from '../comm/communicator';
import { OnlineProjector, type OnlineProjection } from '../estimate/online';
import type { CastStats } from '../precision/cast';
import { LossScaler } from '../precision/loss-scaler';
import type { PrecisionDecision, PrecisionObservation, PrecisionPolicy } from '../precision/policy';
import { defaultEnergyProfile } from '../power/profile';
import { energyProfileFromEnv } from '../power/world';
import type { Checkpoint, Position } from './checkpoint';
import type { TrainConfig } from './config';
import type { Evaluation } from './evaluate';
import { makePolicy } from './precision';
import type { EpochRecord, StepRecord, Totals } from './records';
import { ENERGY_FIELDS, ENERGY_LAG, zeroEnergy, type EnergyFields, type StepEnergy } from './step-energy';
import type { ProgressUpdate, TrainHooks, TrainWorld } from './trainer';

// Summable cast statistics: their job-wide sums are the statistics of every rank's gradients as of one array.
const STATS_FIELDS = ['underflow', 'overflow', 'nonFinite', 'sumSquaredError', 'sumSquared', 'count'] as const;
// Buffer: stop flag, seconds of the step ÷ ranks (their sum: the job's mean), ranks that gathered wire
// statistics, STATS_FIELDS, the loop's job slots, then regions of (the loop's rank slots, ENERGY_FIELDS): one
// per rank, or one that every rank adds into.
const STOP = 0;
const MEAN_STEP_S = 1;
const STATS_PRESENT = 2;
const STATS = 3;
const HEAD = STATS + STATS_FIELDS.length;

export interface MetricsLayout {
  /** Slots every rank adds into (loss sum, correct, …). */
  jobSlots: number;
  /** Slots of each region before its energy fields (a rank's times, …). */
  rankSlots: number;
  /** Each rank's values in a region of its own (a pipeline's stages differ), or one region they all add into. */
  perRank: boolean;
}

/** The job-wide figures of one step, as the metrics allreduce left them. */
export class Metrics {
  readonly buffer: Float64Array;
  readonly regions: number;

  constructor(private readonly layout: MetricsLayout, private readonly ranks: number, private readonly mine: number) {
    this.regions = layout.perRank ? ranks : 1;
    this.buffer = new Float64Array(HEAD + layout.jobSlots + this.regions * (layout.rankSlots + ENERGY_FIELDS.length));
  }

  get stop(): boolean {
    return this.buffer[STOP] > 0;
  }

  /** The step's seconds up to the metrics allreduce, averaged over the ranks: the same figure on every rank. */
  get meanStepS(): number {
    return this.buffer[MEAN_STEP_S];
  }

  job(i: number): number {
    return this.buffer[HEAD + i];
  }

  /** Slot i of rank r's region (the shared region, whatever r, when regions are not per rank). */
  rank(r: number, i: number): number {
    return this.buffer[this.regionStart(r) + i];
  }

  energy(r: number): EnergyFields {
    const fields = zeroEnergy();
    const start = this.regionStart(r) + this.layout.rankSlots;
    ENERGY_FIELDS.forEach((f, i) => (fields[f] = this.buffer[start + i]));
    return fields;
  }

  energySum(): EnergyFields {
    const sum = zeroEnergy();
    for (let r = 0; r < this.regions; r++) {
      const fields = this.energy(r);
      for (const f of ENERGY_FIELDS) sum[f] += fields[f];
    }
    return sum;
  }

  /** The wire statistics of every rank's gradients together (null when no rank gathered any). */
  stats(): CastStats | null {
    if (this.buffer[STATS_PRESENT] === 0) return null;
    const stats = Object.fromEntries(STATS_FIELDS.map((f, i) => [f, this.buffer[STATS + i]])) as Omit<CastStats, 'relError'>;
    return { ...stats, relError: stats.sumSquared > 0 ? Math.sqrt(stats.sumSquaredError / stats.sumSquared) : 0 };
  }

  /** This rank's contribution: zeroes the buffer and writes the job slots, its region's slots and the stop flag. */
  fill(job: readonly number[], mine: readonly number[], stop: boolean, stepS: number, stats: CastStats | null): void {
    this.buffer.fill(0);
    this.buffer[STOP] = stop ? 1 : 0;
    this.buffer[MEAN_STEP_S] = stepS / this.ranks;
    if (stats) {
      this.buffer[STATS_PRESENT] = 1;
      STATS_FIELDS.forEach((f, i) => (this.buffer[STATS + i] = stats[f]));
    }
    this.buffer.set(job, HEAD);
    this.buffer.set(mine, this.regionStart(this.mine));
  }

  setMyEnergy(fields: EnergyFields): void {
    const start = this.regionStart(this.mine) + this.layout.rankSlots;
    ENERGY_FIELDS.forEach((f, i) => (this.buffer[start + i] = fields[f]));
  }

  private regionStart(r: number): number {
    return HEAD + this.layout.jobSlots + (this.layout.perRank ? r : 0) * (this.layout.rankSlots + ENERGY_FIELDS.length);
  }
}

export interface StepBoundaryOptions {
  world: TrainWorld;
  /** Every rank of the job (null: a single rank). */
  comm: Communicator | null;
  config: TrainConfig;
  hooks: TrainHooks;
  totals: Totals;
  totalSteps: number;
  stepsPerEpoch: number;
  layout: MetricsLayout;
  /** The job's energy of a step from its exchanged figures; may also fill in the step's record (a pipeline's stages). */
  stepEnergy(metrics: Metrics, record: StepRecord | undefined): StepEnergy;
  /** Writes a checkpoint at this position (every rank calls it). */
  save(position: Position): Promise<void>;
  /** Compares the weight checksums of the ranks that must hold the same weights. */
  checksum(step: number): Promise<void>;
}

/** What the loop tells the policy of a step; the boundary adds the job-wide duration, wire statistics and energy, so every rank's policy sees the same. */
export type Observation = Omit<PrecisionObservation, 'durationS' | 'wireStats' | 'energyJ' | 'energySource'>;

export class StepBoundary {
  readonly policy: PrecisionPolicy;
  scaler: LossScaler | null = null;
  readonly metrics: Metrics;
  private readonly pending: { step: number; fields: Promise<EnergyFields> }[] = [];
  private lagged: number | null = null;
  private lastPowerW: number | null = null;
  private decisionsSeen = 0;
  private readonly projector: OnlineProjector | null;

  constructor(private readonly o: StepBoundaryOptions) {
    const { config, totalSteps, world, layout } = o;
    this.policy = makePolicy(config.precision, { allowModelEnergy: config.allowModelEnergy, windowSteps: Math.max(5, Math.min(100, Math.floor(totalSteps / 4))) });
    this.projector = config.predictAfter === null ? null : newProjector(config);
    this.metrics = new Metrics(layout, world.size, world.rank);
  }

  /** Appends to a run-record stream: rank 0 of an instrumented run writes, the others and uninstrumented runs do not. */
  record(name: string, value: Record<string, unknown>): void {
    if (this.o.world.rank === 0 && this.o.config.instrument) this.o.world.stream(name, value);
  }

  /** Resumes the policy's and the loss scaler's state from a checkpoint. */
  load(resume: Checkpoint): void {
    this.policy.load(resume.state.policy);
    if (resume.state.lossScaler) {
      this.scaler = new LossScaler(resume.state.lossScaler.options);
      this.scaler.load(resume.state.lossScaler);
    }
  }

  /** What a checkpoint keeps of the precision machinery. */
  precisionState(): { lossScaler: ReturnType<LossScaler['state']> | null; policy: unknown } {
    return { lossScaler: this.scaler ? this.scaler.state() : null, policy: this.policy.state() };
  }

  /** The step's precision; every rank takes the same (the policy sees only job-wide figures). */
  decide(step: number): PrecisionDecision {
    const decision = this.policy.decide(step);
    if (!decision.lossScaling) this.scaler = null;
    else this.scaler ??= new LossScaler(decision.lossScaling);
    return decision;
  }

  /**
   * Unscales the averaged gradients and says whether the loss scaler skips the step. `agreeOver` is given
   * when ranks hold different gradients (a pipeline's stages): any rank's overflow skips the step everywhere.
   */
  async skipStep(grads: Float32Array, agreeOver: Communicator | null): Promise<boolean> {
    if (!this.scaler) return false;
    const { finite } = this.scaler.unscale(grads);
    let everywhere = finite;
    if (agreeOver) {
      const overflowed = new Float64Array([finite ? 0 : 1]);
      await agreeOver.allreduce(overflowed, { op: 'sum' });
      everywhere = overflowed[0] === 0;
    }
    return this.scaler.update({ finite: everywhere }).skipped;
  }

  /**
   * The step's metrics allreduce: the loop's job slots and this rank's slots, the wire statistics, the stop
   * flag, and the energy of the step ENERGY_LAG back (so no rank waits for the sampler's next tick).
   */
  async exchange(step: number, startedAt: bigint, energy: Promise<EnergyFields>, job: readonly number[], mine: readonly number[], stats: CastStats | null): Promise<Metrics> {
    this.pending.push({ step, fields: energy });
    this.metrics.fill(job, mine, this.o.hooks.stopRequested?.() ?? false, Number(process.hrtime.bigint() - startedAt) / 1e9, stats);
    const lagged = this.pending.length > ENERGY_LAG ? this.pending.shift()! : null;
    if (lagged) this.metrics.setMyEnergy(await lagged.fields);
    if (this.o.comm) await this.o.comm.allreduce(this.metrics.buffer, { op: 'sum' });
    this.lagged = lagged ? lagged.step : null;
    return this.metrics;
  }

  /**
   * After exchange(): keeps the step's record until its energy is known, records the lagged step, shows
   * progress, then checkpoints and compares checksums where due. True when the job was asked to stop.
   */
  async closeStep(record: StepRecord, observation: Observation, position: Position): Promise<boolean> {
    const { totals, config } = this.o;
    totals.addStep(record);
    totals.pendingSteps.set(record.step, { record, observation: { ...observation, durationS: this.metrics.meanStepS, wireStats: this.metrics.stats() ?? undefined } });
    if (this.lagged !== null) this.observe(this.lagged);
    this.progress({ kind: 'step', step: record });
    if (this.metrics.stop) return true;
    if (config.checkpoint?.unit === 'steps' && position.globalStep % config.checkpoint.every === 0) await this.o.save(position);
    if (config.instrument && config.checksum.unit === 'steps' && position.globalStep % config.checksum.every === 0) await this.o.checksum(position.globalStep);
    return false;
  }

  /** Resolves the energy of every step still pending (an epoch's end, a stop), with the same buffer on every rank. */
  async drain(): Promise<void> {
    // Every rank has the same number of pending steps (the same steps ran everywhere).
    while (this.pending.length) {
      const { step, fields } = this.pending.shift()!;
      const mine = await fields;
      this.metrics.fill([], [], false, 0, null);
      this.metrics.setMyEnergy(mine);
      if (this.o.comm) await this.o.comm.allreduce(this.metrics.buffer, { op: 'sum' });
      this.observe(step);
    }
  }

  epochStart(position: Position) {
    return { step: position.globalStep, timeS: this.o.totals.elapsedS(), ...this.o.totals.snapshot() };
  }

  /**
   * After the epoch's held-out evaluation: the epoch record (with the loop's own fields), the projection,
   * the energy budget (rank 0's projection decides for everyone), checksums and checkpoints where due.
   */
  async endEpoch(epoch: number, start: ReturnType<StepBoundary['epochStart']>, held: Evaluation, position: Position, extra?: (record: EpochRecord) => Record<string, unknown>): Promise<{ position: Position; overBudget: boolean }> {
    const { config, world } = this.o;
    const epochRecord = this.o.totals.epochRecord(epoch + 1, start, this.o.totals.elapsedS(), held);
    this.record('epochs', { ...epochRecord, ...extra?.(epochRecord) });
    const projection = this.projector ? project(this.projector, epochRecord) : null;
    if (projection) this.record('projections', projection as unknown as Record<string, unknown>);
    this.progress({ kind: 'epoch', epoch: epochRecord, projection });
    let overBudget = false;
    if (config.energyBudgetJ !== null && (await this.overBudget(projection)) && epoch + 1 < config.epochs) {
      overBudget = true;
      world.log(`the projected energy ${projection?.energyJ.toFixed(0)} J (${projection?.source}) exceeds the budget of ${config.energyBudgetJ} J: stopping after epoch ${epoch + 1}`);
    }
    if (config.instrument && config.checksum.unit === 'epochs' && (epoch + 1) % config.checksum.every === 0) await this.o.checksum(position.globalStep);
    const next = position.stepInEpoch >= this.o.stepsPerEpoch ? { epoch: epoch + 1, stepInEpoch: 0, globalStep: position.globalStep } : position;
    if (overBudget || (config.checkpoint?.unit === 'epochs' && (epoch + 1) % config.checkpoint.every === 0)) await this.o.save(next);
    return { position: next, overBudget };
  }

  /** A stop (SIGTERM): the pending energy resolved, then a checkpoint to resume from. */
  async terminate(position: Position): Promise<void> {
    await this.drain();
    await this.o.save(position);
  }

  /** For the summary: the policy's kind and every decision it took. */
  policySummary(): { kind: string; history: unknown[] } {
    this.noteDecisions();
    return { kind: this.policy.kind, history: this.history() };
  }

  private observe(step: number): void {
    const { totals } = this.o;
    const entry = totals.pendingSteps.get(step);
    const energy = this.o.stepEnergy(this.metrics, entry?.record);
    totals.addEnergy(energy);
    if (!entry) return;
    totals.pendingSteps.delete(step);
    entry.record.energy = energy;
    const joules = energy.energyJ ?? energy.modelEnergyJ;
    if (joules !== null && entry.record.durationS > 0) this.lastPowerW = joules / entry.record.durationS;
    this.record('steps', entry.record as unknown as Record<string, unknown>);
    this.policy.observe({ ...entry.observation, ...policyEnergy(energy) });
    this.noteDecisions();
  }

  private progress(update: Pick<ProgressUpdate, 'kind' | 'step' | 'epoch' | 'projection'>): void {
    const { world, hooks, totals, config } = this.o;
    if (world.rank !== 0) return;
    hooks.onProgress?.({ ...update, totalSteps: this.o.totalSteps, epochs: config.epochs, stepsPerEpoch: this.o.stepsPerEpoch, elapsedS: totals.elapsedS(), energySoFar: totals.energySoFar(), powerW: this.lastPowerW });
  }

  private history(): { step: number; event: string; from: string; to: string; reason: string }[] {
    return 'history' in this.policy ? (this.policy as unknown as { history(): { step: number; event: string; from: string; to: string; reason: string }[] }).history() : [];
  }

  private noteDecisions(): void {
    const history = this.history();
    for (const entry of history.slice(this.decisionsSeen)) {
      this.record('precision', entry as unknown as Record<string, unknown>);
      if (this.o.world.rank === 0 && entry.event !== 'hold') this.o.world.log(`precision step ${entry.step}: ${entry.event} ${entry.from} → ${entry.to}: ${entry.reason}`);
    }
    this.decisionsSeen = history.length;
  }

  private async overBudget(projection: OnlineProjection | null): Promise<boolean> {
    const flag = new Float64Array([projection?.overBudget ? 1 : 0]);
    if (this.o.comm) await this.o.comm.broadcast(flag, 0);
    return flag[0] > 0;
  }
}

function newProjector(config: TrainConfig): OnlineProjector {
  const profile = energyProfileFromEnv() ?? defaultEnergyProfile;
  return new OnlineProjector({
    plannedEpochs: config.epochs,
    predictAfter: config.predictAfter ?? 1,
    budgetJ: config.energyBudgetJ ?? undefined,
    pue: profile.pue,
    carbonGPerKWh: profile.carbonGPerKWh,
  });
}

/** Feeds the epoch to the projector: measured energy when the epoch was measured, else the model's, never both. */
function project(projector: OnlineProjector, epoch: EpochRecord): OnlineProjection | null {
  const energyJ = epoch.energyJ ?? epoch.modelEnergyJ;
  if (energyJ === null || !(epoch.durationS > 0)) return null;
  projector.observeEpoch({ epoch: epoch.epoch, durationS: epoch.durationS, energyJ, source: epoch.energySource });
  return projector.project();
}

function policyEnergy(energy: StepEnergy): { energyJ?: number; energySource?: 'nvml' | 'rapl' | 'model' } {
  if (energy.energyJ !== null) return { energyJ: energy.energyJ, energySource: energy.source === 'rapl' ? 'rapl' : 'nvml' };
  if (energy.modelEnergyJ !== null) return { energyJ: energy.modelEnergyJ, energySource: 'model' };
  return {};
}
