// What `joule bench <collective> --json` prints (its report and rows), and rank 0's JSON picked out of `joule launch`'s "[r] "-prefixed output.

export interface BenchRow {
  bytes: number;
  count: number;
  op: string;
  outOfPlace: { timeUs: number; algbwGBs: number; busbwGBs: number; wrong: number };
  inPlace: { timeUs: number; algbwGBs: number; busbwGBs: number; wrong: number };
  energyPerOpJ: number | null;
  modelEnergyPerOpJ: number | null;
  energySource: string;
}

export interface BenchReport {
  ranks: number;
  backend: string;
  loop: string;
  wrong: number;
  rows: BenchRow[];
}

/** The JSON rank 0 printed under `joule launch` (its lines carry a "[0] " prefix there). */
export function rankZeroJson(stdout: string): BenchReport {
  return JSON.parse(
    stdout
      .split('\n')
      .filter((l) => l.startsWith('[0] '))
      .map((l) => l.slice(4))
      .join('\n'),
  ) as BenchReport;
}
