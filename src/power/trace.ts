// Chrome/Perfetto trace JSON from a run's power records: power counter tracks and window spans per rank.

interface TraceEvent {
  name: string;
  ph: 'C' | 'X' | 'M';
  pid: number;
  tid?: number;
  ts?: number;
  dur?: number;
  args?: Record<string, unknown>;
}

interface RankClock {
  monotonicS: number;
  epochMs: number;
}

/** Span track ids: windows on tid 1 (steps, phases, collectives all are windows). */
const windowTid = 1;

/** The trace, and the ranks whose times could not be placed on the wall clock (no power-channels record). */
export function chromeTrace(records: Record<string, unknown>[]): { traceEvents: TraceEvent[]; displayTimeUnit: 'ms'; unplacedRanks: number[] } {
  const events: TraceEvent[] = [];
  const clocks = new Map<number, RankClock>();
  const labels = new Map<number, string[]>();
  const kinds = new Map<number, string[]>();
  const rankOf = (record: Record<string, unknown>) => (typeof record.rank === 'number' ? record.rank : 0);
  // Monotonic clocks differ between hosts: each rank's own (monotonic, wall) pair maps its times.
  const micros = (rank: number, monotonicS: number) => {
    const clock = clocks.get(rank);
    return clock ? Math.round((clock.epochMs + (monotonicS - clock.monotonicS) * 1000) * 1000) : Math.round(monotonicS * 1e6);
  };
  for (const record of records) {
    const rank = rankOf(record);
    if (record.type === 'power-channels') {
      clocks.set(rank, record.clock as RankClock);
      const channels = record.channels as { label: string; kind: string }[];
      labels.set(rank, channels.map((c) => c.label));
      kinds.set(rank, channels.map((c) => c.kind));
      const host = typeof record.host === 'string' ? ` (${record.host})` : '';
      events.push({ name: 'process_name', ph: 'M', pid: rank, args: { name: `rank ${rank}${host}` } });
      events.push({ name: 'thread_name', ph: 'M', pid: rank, tid: windowTid, args: { name: 'windows' } });
    }
  }
  const lastEnergy = new Map<string, { t: number; e: number }>();
  const unplaced = new Set<number>();
  for (const record of records) {
    const rank = rankOf(record);
    // Without its clock record a rank's monotonic times would land in 1970: left out, and said.
    if ((record.type === 'power-samples' || record.type === 'power-window') && !clocks.has(rank)) {
      unplaced.add(rank);
      continue;
    }
    if (record.type === 'power-samples') {
      const fields = record.fields as string[];
      const column = (name: string) => fields.indexOf(name);
      const [t, channel, energy, power] = ['timeS', 'channel', 'energyJ', 'powerW'].map(column);
      for (const row of record.rows as (number | null)[][]) {
        const index = row[channel] as number;
        const label = labels.get(rank)?.[index] ?? `channel ${index}`;
        const kind = kinds.get(rank)?.[index];
        const time = row[t] as number;
        let watts = row[power];
        // RAPL gives energy only: its power is the difference between consecutive readings.
        if ((watts === null || kind === 'rapl') && row[energy] !== null) {
          const key = `${rank}/${index}`;
          const last = lastEnergy.get(key);
          lastEnergy.set(key, { t: time, e: row[energy] as number });
          watts = last && time > last.t ? ((row[energy] as number) - last.e) / (time - last.t) : null;
        }
        if (kind === 'process' || watts === null) continue;
        events.push({ name: `power ${label} (W)`, ph: 'C', pid: rank, ts: micros(rank, time), args: { W: Number(watts.toFixed(3)) } });
      }
    } else if (record.type === 'power-window') {
      events.push({
        name: record.name as string,
        ph: 'X',
        pid: rank,
        tid: windowTid,
        ts: micros(rank, record.startS as number),
        dur: Math.max(0, Math.round((record.durationS as number) * 1e6)),
        args: {
          path: record.path,
          energyJ: record.energyJ,
          modelEnergyJ: record.modelEnergyJ,
          meanPowerW: record.meanPowerW,
          peakPowerW: record.peakPowerW,
          bySource: record.bySource,
          interpolated: record.interpolated,
        },
      });
    }
  }
  return { traceEvents: events, displayTimeUnit: 'ms', unplacedRanks: [...unplaced].sort((a, b) => a - b) };
}
