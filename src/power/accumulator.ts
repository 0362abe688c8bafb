// Integrates one channel's samples over one window: counter differences, power trapezoids, CPU time.

/** Length of the overlap of [a, b] and [from, to]. */
export function overlap(a: number, b: number, from: number, to: number): number {
  return Math.max(0, Math.min(b, to) - Math.max(a, from));
}

/** The integral over [from, to] ∩ [t0, t1] of the line through (t0, p0) and (t1, p1). */
export function trapezoid(t0: number, p0: number, t1: number, p1: number, from: number, to: number): number {
  const a = Math.max(t0, from);
  const b = Math.min(t1, to);
  if (b <= a) return 0;
  const at = (t: number) => (t1 === t0 ? p0 : p0 + ((p1 - p0) * (t - t0)) / (t1 - t0));
  return ((at(a) + at(b)) / 2) * (b - a);
}

export class Accumulator {
  counterJ = 0;
  counterCoveredS = 0;
  powerJ = 0;
  powerCoveredS = 0;
  cpuTimeS = 0;
  cpuCoveredS = 0;
  peakPowerW: number | null = null;
  wraps = 0;
  resets = 0;
  /** Readings taken strictly inside the window. */
  readingsInside = 0;
  errors: Record<string, number> = {};

  constructor(readonly startS: number) {}

  /** A counter went from e0 at t0 to e1 at t1; the window's part is interpolated linearly. */
  addCounter(t0: number, e0: number, t1: number, e1: number, endS: number): void {
    const covered = overlap(t0, t1, this.startS, endS);
    if (covered <= 0) return;
    this.counterJ += ((e1 - e0) * covered) / (t1 - t0);
    this.counterCoveredS += covered;
  }

  /** Power readings p0 at t0 and p1 at t1; the gap counts as covered only if it is short enough. */
  addPower(t0: number, p0: number, t1: number, p1: number, endS: number, maxGapS: number): void {
    this.powerJ += trapezoid(t0, p0, t1, p1, this.startS, endS);
    if (t1 - t0 <= maxGapS) this.powerCoveredS += overlap(t0, t1, this.startS, endS);
  }

  addCpuTime(t0: number, c0: number, t1: number, c1: number, endS: number): void {
    const covered = overlap(t0, t1, this.startS, endS);
    if (covered <= 0) return;
    this.cpuTimeS += ((c1 - c0) * covered) / (t1 - t0);
    this.cpuCoveredS += covered;
  }

  /** A reading at t: peaks, errors and counts apply only when t lies in the window. */
  addReading(t: number, endS: number, powerW: number | null, errorCodes: number[]): void {
    if (t < this.startS || t > endS) return;
    if (t > this.startS && t < endS) this.readingsInside++;
    if (powerW !== null && Number.isFinite(powerW)) this.peakPowerW = Math.max(this.peakPowerW ?? -Infinity, powerW);
    for (const code of errorCodes) this.errors[code] = (this.errors[code] ?? 0) + 1;
  }
}
