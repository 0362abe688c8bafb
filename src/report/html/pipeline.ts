// The report's pipeline section: per stage its layers, FLOPs share and measured compute, wait and idle time per step beside the GPipe bubble formula, and where its joules went (compute, waits, idle by time shares, per energy source).
import type { RunData } from '../../experiments/run-data';
import type { StageStepRecord } from '../../train/pipeline/trainer';
import type { PipelineSummary } from '../../train/records';
import { fmt, type Row, type Section } from './page';

const PARTS = ['compute', 'wait', 'idle'] as const;

interface StageTimes {
  computeS: number;
  waitS: number;
  idleS: number;
}

/**
 * Each stage's mean seconds per step computing, blocked in a communication call (send, recv, the
 * data-parallel allreduce) and idle (the rest), over rank 0's step records after the first (set-up, as
 * the summary's measured figures leave it out too).
 */
function stageTimes(run: RunData, stages: number): { steps: number; stepS: number; stages: StageTimes[] } | null {
  const lines = (run.steps as { durationS?: number; stages?: StageStepRecord[] }[]).slice(1).filter((s) => typeof s.durationS === 'number' && s.stages?.length === stages);
  if (!lines.length) return null;
  const mean = (of: (line: (typeof lines)[number]) => number) => lines.reduce((t, line) => t + of(line), 0) / lines.length;
  const stepS = mean((line) => line.durationS!);
  return {
    steps: lines.length,
    stepS,
    stages: Array.from({ length: stages }, (_, stage) => {
      const computeS = mean((line) => line.stages![stage].computeS);
      const waitS = mean((line) => line.stages![stage].recvWaitS + line.stages![stage].sendWaitS + line.stages![stage].syncS);
      return { computeS, waitS, idleS: Math.max(0, stepS - computeS - waitS) };
    }),
  };
}

/** One row per stage, energy source and part: the summary's per-stage sums of the step splits. */
function energyRows(pipeline: PipelineSummary): Row[] {
  return (pipeline.energySplit?.stages ?? []).flatMap((st) =>
    Object.entries(st.bySource).flatMap(([source, sums]) => {
      const totalJ = sums.computeJ + sums.waitJ + sums.idleJ;
      return PARTS.map((part) => {
        const energyJ = sums[`${part}J`];
        return { stage: st.stage, bar: `stage ${st.stage} (${source})`, part, energyJ: fmt(energyJ), sharePct: fmt(totalJ > 0 ? (100 * energyJ) / totalJ : null), source, steps: sums.steps };
      });
    }),
  );
}

export function pipelineSection(run: RunData): Section | null {
  const pipeline = run.summary?.pipeline as PipelineSummary | undefined;
  if (!pipeline) return null;
  const K = pipeline.stages;
  const M = pipeline.microBatches;
  const totalFlops = pipeline.split.stages.reduce((t, st) => t + st.flopsPerSample, 0);
  const times = stageTimes(run, K);
  const theoryPct = fmt(100 * pipeline.bubbleTheory);
  const rows = energyRows(pipeline);
  const sources = [...new Set(rows.map((r) => String(r.source)))];
  const basis = 'split by time shares: each step\'s energy of a stage (from its own ranks\' power windows) attributed to compute, wait and idle in proportion to the seconds it spent on each, an attribution of one figure, not three measurements';
  return {
    title: `Pipeline: ${pipeline.strategy}, ${pipeline.dp} × ${K} (replicas × stages), ${M} micro-batches, ${pipeline.schedule}`,
    notes: [
      `The model is cut into ${K} stages (${pipeline.split.mode} split, cuts before layers ${pipeline.split.cuts.join(', ')}). GPipe's bubble formula (K−1)/(M+K−1) = (${K}−1)/(${M}+${K}−1) = ${theoryPct} % of each step idle, for balanced stages and free communication.`,
      times
        ? `Measured: mean seconds per step over ${times.steps} steps of rank 0's steps.jsonl after the first (set-up), each stage's times averaged over its data-parallel replicas; mean step ${fmt(times.stepS)} s. Wait: blocked in send/recv of activations and gradients and in the data-parallel gradient allreduce; idle: the rest of the step, neither computing nor in a communication call. Not computing = wait + idle, the measured counterpart of the formula.`
        : 'No per-stage step records after the first step (steps.jsonl): no measured times.',
      rows.length
        ? `Energy source: ${sources.join(', ')}; ${basis}. A stage whose steps came from different sources has one bar per source, never added together.`
        : 'No energy split was recorded for this run (no energy figure per stage: power off, or a run from before the split).',
    ],
    tables: [
      {
        caption: 'Stages',
        header: ['stage', 'layers', 'first … last layer', 'FLOPs share (%)', 'parameters', 'compute (s/step)', 'wait (s/step)', 'idle (s/step)', 'not computing (% of step)', 'GPipe (K−1)/(M+K−1) (%)'],
        rows: pipeline.split.stages.map((st) => {
          const t = times?.stages[st.stage];
          return [st.stage, `${st.layers[0]}–${st.layers[1] - 1}`, `${st.firstLayer} … ${st.lastLayer}`, fmt(totalFlops > 0 ? (100 * st.flopsPerSample) / totalFlops : null), st.parameters, fmt(t?.computeS), fmt(t?.waitS), fmt(t?.idleS), t ? fmt(100 * (1 - t.computeS / times!.stepS)) : null, theoryPct];
        }),
      },
    ],
    charts: rows.length
      ? [
          {
            id: 'pipeline-energy-split',
            title: 'Where each pipeline stage\'s joules went.',
            caption: `Energy source: ${sources.join(', ')}. Summed over each stage's steps (the steps column of the data), ${basis}.`,
            spec: {
              mark: 'bar',
              encoding: {
                y: { field: 'bar', type: 'nominal', title: 'stage (energy source)', sort: null },
                x: { field: 'energyJ', type: 'quantitative', title: 'energy (J)', stack: 'zero' },
                color: { field: 'part', type: 'nominal', title: 'part of the step', sort: [...PARTS], scale: { domain: [...PARTS], range: ['#3182bd', '#e6550d', '#bdbdbd'] } },
                order: { field: 'partIndex' },
                tooltip: [{ field: 'part' }, { field: 'energyJ' }, { field: 'sharePct' }, { field: 'source' }, { field: 'steps' }],
              },
              transform: [{ calculate: `indexof(${JSON.stringify(PARTS)}, datum.part)`, as: 'partIndex' }],
            },
            rows,
          },
        ]
      : [],
  };
}
