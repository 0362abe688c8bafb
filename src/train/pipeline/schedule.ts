// The order in which a stage runs its micro-batches' forward (F) and backward (B) passes in one step.
import type { Schedule } from '../config';

export interface PipelineOp {
  kind: 'F' | 'B';
  micro: number;
}

/**
 * GPipe: every forward, then every backward (M activations held per stage; the last stage alternates). 1F1B (PipeDream-flush): K−s−1
 * warm-up forwards, then one forward and one backward in turn, then the remaining backwards (at most K−s
 * activations held). Both run backwards in micro-batch order, so gradients sum in the order data
 * parallelism with accumulation sums them.
 */
export function stageOps(schedule: Schedule, stage: number, stages: number, micro: number): PipelineOp[] {
  const F = (m: number): PipelineOp => ({ kind: 'F', micro: m });
  const B = (m: number): PipelineOp => ({ kind: 'B', micro: m });
  const all = [...Array(micro).keys()];
  // The last stage holds the loss: forward, loss and backward are one pass there, so its gradient leaves at
  // once and the stage before starts its backwards as early as the schedule lets it.
  if (stage === stages - 1) return all.flatMap((m) => [F(m), B(m)]);
  if (schedule === 'gpipe') return [...all.map(F), ...all.map(B)];
  const warmup = Math.min(stages - stage - 1, micro);
  const ops = all.slice(0, warmup).map(F);
  for (let i = 0; i < micro - warmup; i++) ops.push(F(warmup + i), B(i));
  for (let m = micro - warmup; m < micro; m++) ops.push(B(m));
  return ops;
}

/** The idle share of a GPipe step with equal stages: (K−1)/(M+K−1). */
export function theoreticalBubble(stages: number, micro: number): number {
  return (stages - 1) / (micro + stages - 1);
}
