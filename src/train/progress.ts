// How training reads to a person: one live progress line on a terminal (plain periodic lines otherwise),
// and the summary table at the end. Rank 0 emits progress; whoever owns the console renders it.
import { formatTable } from '../cli/output';
import type { ProgressUpdate } from './trainer';
import type { TrainSummary } from './records';
import type { StageEnergyTotals } from './pipeline/energy-split';

/** Rank 0's progress travels to `joule train`'s launcher side as stdout lines with this marker. */
export const PROGRESS_MARKER = '@joule-progress ';

const PLAIN_EVERY_S = 10;

function fmt(value: number | null | undefined, digits = 3): string {
  return value === null || value === undefined || !Number.isFinite(value) ? 'n/a' : value.toFixed(digits);
}

function duration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  const s = Math.round(seconds);
  return s >= 3600 ? `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m` : s >= 60 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s` : `${s}s`;
}

function energyText(e: ProgressUpdate['energySoFar']): string {
  if (e.energyJ !== null) return `${e.energyJ.toFixed(1)} J ${e.source}`;
  if (e.modelEnergyJ !== null) return `${e.modelEnergyJ.toFixed(1)} J model`;
  return 'J n/a';
}

/** The one-line view of a step or an epoch. */
export function progressLine(u: ProgressUpdate): string {
  if (u.kind === 'epoch' && u.epoch) {
    const e = u.epoch;
    const p = u.projection;
    const projected = p ? `; projected total ${(p.energyJ / 1000).toFixed(2)} kJ (${p.source}, ${p.method}${p.method === 'step' ? ` s=${p.stabilizingEpoch} w=${p.window}` : ''}), ${duration(p.durationS)}${p.co2eG !== null ? `, ${p.co2eG.toPrecision(3)} g CO2e` : ''}${p.budgetJ !== null ? `, budget ${(p.budgetJ / 1000).toFixed(2)} kJ${p.overBudget ? ' EXCEEDED' : ''}` : ''}` : '';
    return `epoch ${e.epoch}/${u.epochs} done in ${duration(e.durationS)}: train loss ${fmt(e.trainLoss)} acc ${fmt(e.trainAccuracy)}, held-out loss ${fmt(e.heldOutLoss)} acc ${fmt(e.heldOutAccuracy)}, ${fmt(e.samplesPerS, 1)} samples/s, ${energyText(u.energySoFar)} so far${projected}`;
  }
  const s = u.step!;
  const done = s.step + 1;
  const etaS = (u.elapsedS / done) * (u.totalSteps - done);
  const watts = u.powerW ?? NaN;
  const stepInEpoch = (s.step % u.stepsPerEpoch) + 1;
  return `epoch ${s.epoch}/${u.epochs} step ${stepInEpoch}/${u.stepsPerEpoch} (${done}/${u.totalSteps}) loss ${fmt(s.loss)} acc ${fmt(s.accuracy)} ${fmt(s.samplesPerS, 1)} samples/s ${Number.isFinite(watts) ? `${watts.toFixed(1)} W` : 'W n/a'} ${energyText(u.energySoFar)} ${s.compute}/${s.wire} ETA ${duration(etaS)}`;
}

/** Renders progress: rewrites one line on a terminal; elsewhere a plain line every 10 s and per epoch. */
export class ProgressDisplay {
  private lastPlainS = -Infinity;
  private live = false;

  constructor(private readonly write: (text: string) => void, private readonly terminal: boolean) {}

  update(u: ProgressUpdate): void {
    const line = progressLine(u);
    if (this.terminal) {
      if (u.kind === 'epoch') this.write(`\r\x1b[2K${line}\n`);
      else this.write(`\r\x1b[2K${line.slice(0, Math.max(20, (process.stdout.columns ?? 160) - 1))}`);
      this.live = u.kind !== 'epoch';
      return;
    }
    const now = process.uptime();
    if (u.kind === 'epoch' || now - this.lastPlainS >= PLAIN_EVERY_S || (u.step && u.step.step === 0)) {
      this.write(`${line}\n`);
      this.lastPlainS = now;
    }
  }

  /** Before other output: end the live line so text does not land in the middle of it. */
  interrupt(): void {
    if (this.live) this.write('\r\x1b[2K');
    this.live = false;
  }
}

function joules(energy: TrainSummary['energy']): string {
  if (energy.energyJ !== null) {
    const model = energy.modelEnergyJ !== null ? `; plus ${energy.modelEnergyJ.toFixed(1)} J model for what was not measured` : '';
    return `${energy.energyJ.toFixed(1)} J measured (${energy.source})${model}`;
  }
  if (energy.modelEnergyJ !== null) return `${energy.modelEnergyJ.toFixed(1)} J (model: nothing here can measure energy; profile figures × CPU time)`;
  return 'n/a (power off)';
}

function bytes(n: number): string {
  return n >= 1 << 30 ? `${(n / 2 ** 30).toFixed(2)} GiB` : n >= 1 << 20 ? `${(n / 2 ** 20).toFixed(1)} MiB` : `${(n / 1024).toFixed(1)} KiB`;
}

/** A stage's joules by part of the step, per energy source (never added across sources). */
function stageEnergy(st: StageEnergyTotals): string {
  const bySource = Object.entries(st.bySource);
  if (!bySource.length) return `${st.stage}: n/a (no energy figure)`;
  return `${st.stage}: ${bySource
    .map(([source, sums]) => {
      const totalJ = sums.computeJ + sums.waitJ + sums.idleJ;
      const part = (name: string, joules: number) => `${name} ${joules.toPrecision(3)} J (${totalJ > 0 ? ((100 * joules) / totalJ).toFixed(0) : '0'} %)`;
      return `${part('compute', sums.computeJ)}, ${part('wait', sums.waitJ)}, ${part('idle', sums.idleJ)}, ${source} over ${sums.steps} step${sums.steps === 1 ? '' : 's'}`;
    })
    .join('; ')} (split by time shares)`;
}

/** The end-of-run table. */
export function summaryTable(s: TrainSummary): string {
  const total = s.time.computeS + s.time.commS + s.time.idleS || 1;
  const share = (x: number) => `${x.toFixed(1)} s (${((100 * x) / total).toFixed(0)} %)`;
  const decisions = s.precision.decisions.length
    ? s.precision.decisions.map((d) => { const e = d as { step: number; event: string; from: string; to: string; reason: string }; return `step ${e.step} ${e.event} ${e.from} → ${e.to}: ${e.reason}`; })
    : [`${s.precision.choice}: compute f32 (tfjs computes in float32), wire ${Object.entries(s.precision.wire).filter(([, n]) => n > 0).map(([w, n]) => `${w} ${n} steps`).join(', ') || 'n/a'}`];
  const rows: string[][] = [
    ['status', `${s.status}${s.status === 'terminated' ? ` at step ${s.position.globalStep} (checkpoint written; resume with --resume)` : s.status === 'budget' ? ` (the projected energy exceeded --energy-budget; checkpoint written at step ${s.position.globalStep})` : ''}`],
    ['model', `${s.model.name} (${s.model.parameters.toLocaleString('en-US')} parameters, ${(s.model.flopsPerSample / 1e6).toFixed(1)} MFLOP/sample forward) on ${s.dataset.name}`],
    ['layout', s.pipeline
      ? `${s.ranks} rank(s), ${s.pipeline.strategy}: ${s.pipeline.dp} × ${s.pipeline.stages} (replicas × stages), ${s.pipeline.microBatches} micro-batches of ${s.lbs} (${s.pipeline.schedule}), GBS ${s.gbs}, tfjs ${s.backend.backend}`
      : `${s.ranks} rank(s), data parallel, LBS ${s.lbs}, GBS ${s.gbs}${s.accumulation > 1 ? ` (${s.accumulation} accumulation steps)` : ''}, tfjs ${s.backend.backend}`],
    ['wall time', `${s.wallTimeS.toFixed(1)} s for ${s.steps} steps, ${s.samples} samples`],
    ['throughput', `${s.samplesPerS.toFixed(1)} samples/s over the run${s.steadySamplesPerS !== null ? `, ${s.steadySamplesPerS.toFixed(1)} in steady steps (after the first 5)` : ''}`],
    ['train', `loss ${fmt(s.train.loss)}, accuracy ${fmt(s.train.accuracy)} (mean of the last steps)`],
    ['held-out', `loss ${fmt(s.heldOut.loss)}, accuracy ${fmt(s.heldOut.accuracy)} (${s.dataset.testSize} samples)`],
    ['energy', joules(s.energy)],
    ['J per sample', s.energy.jPerSample === null ? 'n/a' : `${s.energy.jPerSample.toPrecision(3)} (${s.energy.energyJ !== null ? 'measured' : 'model'})`],
    ['GPU-hours', s.gpuHours > 0 ? s.gpuHours.toPrecision(3) : `0 (no GPUs; ${s.rankHours.toPrecision(3)} rank-hours)`],
    ['communicated', `${bytes(s.communicatedBytes)} of ${s.pipeline ? 'activations, gradients and data-parallel gradient syncs' : 'gradients'} on the wire`],
    ['time split', `compute ${share(s.time.computeS)}, communication ${share(s.time.commS)}, idle ${share(s.time.idleS)} (summed over steps, mean over ranks)`],
    ...decisions.map((d, i) => [i === 0 ? 'precision' : '', d]),
  ];
  if (s.pipeline) {
    const measured = s.pipeline.measured;
    s.pipeline.split.stages.forEach((st) => rows.push([st.stage === 0 ? 'stages' : '', `${st.stage}: layers ${st.layers[0]}–${st.layers[1] - 1} (${st.firstLayer} … ${st.lastLayer}), ${(st.flopsPerSample / 1e6).toFixed(1)} MFLOP/sample${measured ? `, compute ${measured.stages[st.stage].computeS.toFixed(3)} s/step, not computing ${(100 * measured.stages[st.stage].bubble).toFixed(0)} % (waits + idle)` : ''}`]));
    rows.push(['bubble', `GPipe formula (K−1)/(M+K−1) = ${(100 * s.pipeline.bubbleTheory).toFixed(0)} %; measured share not computing per stage above`]);
    (s.pipeline.energySplit?.stages ?? []).forEach((st, i) => rows.push([i === 0 ? 'stage energy' : '', stageEnergy(st)]));
  }
  if (s.precision.emulated) rows.push(['emulated', `${s.precision.emulated} compute emulated by rounding the weights before every forward pass (activations f32): for accuracy studies; it costs time, it saves no energy`]);
  if (s.skippedSteps) rows.push(['skipped', `${s.skippedSteps} step(s) skipped by the loss scaler (f16 overflow)`]);
  if (s.runDir) rows.push(['run record', s.runDir]);
  return formatTable(rows);
}
