// Chrome/Perfetto trace JSON of a run's power (runPower): power counter tracks and window spans per rank or node sampler.
import type { RunPower } from './run-samples';

interface TraceEvent {
  name: string;
  ph: 'C' | 'X' | 'M';
  pid: number;
  tid?: number;
  ts?: number;
  dur?: number;
  args?: Record<string, unknown>;
}

/** Span track ids: windows on tid 1 (steps, phases, collectives all are windows). */
const windowTid = 1;

/** The trace of a run's power (runPower), and the readers whose times could not be placed on the wall clock (no power-channels record). */
export function chromeTrace(power: Pick<RunPower, 'records' | 'channels' | 'clocks' | 'unplacedRanks'>): { traceEvents: TraceEvent[]; displayTimeUnit: 'ms'; unplacedRanks: number[] } {
  const events: TraceEvent[] = [];
  const rankOf = (record: Record<string, unknown>) => (typeof record.rank === 'number' ? record.rank : 0);
  const unplaced = new Set(power.unplacedRanks);
  for (const record of power.records) {
    if (record.type !== 'power-channels') continue;
    const rank = rankOf(record);
    const host = typeof record.host === 'string' ? ` (${record.host})` : '';
    // A node sampler files its records under the node's first rank; its track says what it is.
    const name = record.sampler === 'node' ? `node sampler${host}` : `rank ${rank}${host}`;
    events.push({ name: 'process_name', ph: 'M', pid: rank, args: { name } });
    events.push({ name: 'thread_name', ph: 'M', pid: rank, tid: windowTid, args: { name: 'windows' } });
  }
  for (const channel of power.channels) {
    if (channel.kind === 'process') continue;
    let last: { t: number; e: number } | undefined;
    channel.timesS.forEach((time, i) => {
      let watts = channel.powerW[i];
      const energyJ = channel.energyJ[i];
      // RAPL gives energy only: its power is the difference between consecutive readings.
      if ((watts === null || channel.kind === 'rapl') && energyJ !== null) {
        watts = last && time > last.t ? (energyJ - last.e) / (time - last.t) : null;
        last = { t: time, e: energyJ };
      }
      if (watts !== null) events.push({ name: `power ${channel.label} (W)`, ph: 'C', pid: channel.rank, ts: Math.round(time * 1e6), args: { W: Number(watts.toFixed(3)) } });
    });
  }
  for (const record of power.records) {
    if (record.type !== 'power-window') continue;
    const rank = rankOf(record);
    const clock = power.clocks.get(rank);
    // Without its clock record a rank's monotonic times would land in 1970: left out, and said.
    if (!clock) {
      unplaced.add(rank);
      continue;
    }
    events.push({
      name: record.name as string,
      ph: 'X',
      pid: rank,
      tid: windowTid,
      ts: Math.round((clock.epochMs + ((record.startS as number) - clock.monotonicS) * 1000) * 1000),
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
  return { traceEvents: events, displayTimeUnit: 'ms', unplacedRanks: [...unplaced].sort((a, b) => a - b) };
}
