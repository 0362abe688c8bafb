// Synthetic-but-realistic power traces for the estimation tests (never presented as measurements).
import type { EpochSpan, PowerTrace } from '../../src/estimate/trace';

/** Deterministic uniform numbers in [0, 1) (mulberry32). */
export function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface ScriptedTrace {
  /** Power at second i (1 Hz, like nvidia-smi -lms 1000). */
  powerW: number[];
  /** Epoch length, s. */
  epochS: number;
}

/**
 * A GPU at 1 Hz: a steady level with a periodic step pattern (forward/backward/allreduce) and noise;
 * `warmupS` seconds ramping up from idle first; from `changeS` on, a different level and pattern.
 */
export function scriptedPower(options: { seconds: number; warmupS?: number; changeS?: number; seed?: number; warmupShape?: 'ramp' | 'level' }): number[] {
  const rnd = random(options.seed ?? 1);
  const noise = (a: number) => (rnd() - 0.5) * 2 * a;
  const out: number[] = [];
  for (let i = 0; i < options.seconds; i++) {
    const steady = 280 + 20 * Math.sin((2 * Math.PI * i) / 7);
    let p = steady + noise(8);
    if (options.warmupS && i < options.warmupS) {
      p = options.warmupShape === 'level' ? 120 + noise(8) : 70 + ((steady - 70) * i) / options.warmupS + noise(4);
    }
    if (options.changeS !== undefined && i >= options.changeS) p = 230 + 10 * Math.sin((2 * Math.PI * i) / 4) + noise(8);
    out.push(p);
  }
  return out;
}

export function traceOf(powerW: number[], epochS: number, device = 'gpu0'): PowerTrace {
  const epochs: EpochSpan[] = [];
  for (let e = 0; (e + 1) * epochS <= powerW.length - 1; e++) epochs.push({ epoch: e + 1, startS: e * epochS, endS: (e + 1) * epochS });
  return {
    name: 'scripted',
    format: 'csv',
    series: [{ device, source: 'csv', timesS: powerW.map((_, i) => i), powerW }],
    epochs,
    issues: [],
  };
}
