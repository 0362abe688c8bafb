// Power over time per domain from a run's power.jsonl (counters differentiated J -> W, power readings as read, CPU time through the profile's per-core TDP, labelled model), with the run's events, steps, phases and collectives on the same clock.
import fs from 'node:fs';
import path from 'node:path';
import { readRecords } from '../../power/records';

export interface PowerPoint {
  /** Seconds since the run's first sample. */
  timeS: number;
  powerW: number;
  /** host, rank and channel, e.g. "vm gpu0 (rank 0)". */
  domain: string;
  source: 'nvml' | 'rapl' | 'model';
}

export interface RunTimeline {
  power: PowerPoint[];
  /** Events worth marking (joins, barriers, failures, the end) at seconds since the first sample. */
  marks: { timeS: number; label: string }[];
  /** Step ends (rank 0), at seconds since the first sample. */
  steps: { timeS: number; step: number }[];
  /** Rank 0's power windows other than whole steps: collectives (training's gradient exchange, benchmarks' operations) and phases (compute, named windows). */
  spans: Span[];
  /** Epoch milliseconds of time 0, to place events recorded in wall-clock time. */
  originEpochMs: number | null;
}

export interface Span {
  startS: number;
  endS: number;
  kind: 'collective' | 'phase';
  label: string;
}

/**
 * What a power window was, from its name: the trainer's `comm` window is the gradient exchange, a
 * benchmark's `bench <collective> <bytes>B <in|out>-place` window one size's timed operations; `step`
 * windows are drawn as step ticks already. Null: not drawn.
 */
export function classifyWindow(name: string): Pick<Span, 'kind' | 'label'> | null {
  if (name === 'step') return null;
  if (name === 'comm') return { kind: 'collective', label: 'gradient exchange (comm)' };
  const bench = /^bench (\S+) (.*)$/.exec(name);
  if (bench) return { kind: 'collective', label: `${bench[1]} ${bench[2]}` };
  return { kind: 'phase', label: name };
}

interface Channel {
  kind: string;
  label: string;
}

const SOURCE: Record<string, PowerPoint['source']> = { gpu: 'nvml', rapl: 'rapl', process: 'model' };

export function runTimeline(dir: string): RunTimeline {
  const file = path.join(dir, 'power.jsonl');
  const timeline: RunTimeline = { power: [], marks: [], steps: [], spans: [], originEpochMs: null };
  if (!fs.existsSync(file)) return timeline;
  const records = readRecords(file);
  // Each rank's channel table and its clock (monotonic seconds <-> epoch ms) come first in its stream.
  const channels = new Map<number, { list: Channel[]; monotonicS: number; epochMs: number; cpuTdpPerCoreW: number }>();
  for (const r of records) {
    if (r.type !== 'power-channels') continue;
    const clock = r.clock as { monotonicS: number; epochMs: number };
    const profile = r.profile as { cpuTdpPerCoreW?: number } | undefined;
    channels.set(r.rank as number, { list: r.channels as Channel[], monotonicS: clock.monotonicS, epochMs: clock.epochMs, cpuTdpPerCoreW: profile?.cpuTdpPerCoreW ?? 10 });
  }
  const rows: { epochMs: number; rank: number; host: string; channel: number; energyJ: number | null; powerW: number | null; cpuTimeS: number | null }[] = [];
  for (const r of records) {
    if (r.type !== 'power-samples') continue;
    const table = channels.get(r.rank as number);
    if (!table) continue;
    const fields = r.fields as string[];
    const at = (name: string) => fields.indexOf(name);
    for (const row of r.rows as (number | null)[][]) {
      rows.push({
        epochMs: table.epochMs + ((row[at('timeS')] as number) - table.monotonicS) * 1000,
        rank: r.rank as number,
        host: String(r.host ?? ''),
        channel: row[at('channel')] as number,
        energyJ: row[at('energyJ')],
        powerW: row[at('powerW')],
        cpuTimeS: row[at('cpuTimeS')],
      });
    }
  }
  if (rows.length === 0) return timeline;
  const origin = Math.min(...rows.map((row) => row.epochMs));
  timeline.originEpochMs = origin;
  const previous = new Map<string, (typeof rows)[number]>();
  for (const row of rows.sort((a, b) => a.epochMs - b.epochMs)) {
    const table = channels.get(row.rank)!;
    const channel = table.list[row.channel];
    if (!channel) continue;
    const key = `${row.rank}/${row.channel}`;
    const before = previous.get(key);
    previous.set(key, row);
    const dt = before ? (row.epochMs - before.epochMs) / 1000 : 0;
    let watts: number | null = null;
    if (channel.kind === 'process') watts = before && dt > 0 && row.cpuTimeS !== null && before.cpuTimeS !== null ? ((row.cpuTimeS - before.cpuTimeS) / dt) * table.cpuTdpPerCoreW : null;
    else if (row.energyJ !== null && before?.energyJ != null && dt > 0) watts = (row.energyJ - before.energyJ) / dt;
    else watts = row.powerW;
    if (watts === null || !Number.isFinite(watts) || watts < 0) continue;
    timeline.power.push({ timeS: (row.epochMs - origin) / 1000, powerW: watts, domain: `${row.host} ${channel.label} (rank ${row.rank})`, source: SOURCE[channel.kind] ?? 'model' });
  }
  for (const r of records) {
    // Collectives and phases run on every rank at nearly the same time: rank 0's stand for the job's.
    if (r.type !== 'power-window' || r.rank !== 0 || typeof r.name !== 'string') continue;
    const what = classifyWindow(r.name);
    const table = channels.get(0);
    if (!what || !table) continue;
    const at = (monotonicS: number) => (table.epochMs + (monotonicS - table.monotonicS) * 1000 - origin) / 1000;
    timeline.spans.push({ startS: at(r.startS as number), endS: at(r.endS as number), ...what });
  }
  timeline.spans.sort((a, b) => a.startS - b.startS);
  const events = fs.existsSync(path.join(dir, 'events.jsonl')) ? readRecords(path.join(dir, 'events.jsonl')) : [];
  for (const event of events) {
    if (!['all-joined', 'failure', 'run-ended', 'rank-exited'].includes(String(event.type))) continue;
    const timeS = (Date.parse(String(event.time)) - origin) / 1000;
    if (Number.isFinite(timeS)) timeline.marks.push({ timeS, label: event.type === 'rank-exited' ? `rank ${event.rank} exited` : String(event.type) });
  }
  const stepsFile = path.join(dir, 'steps.jsonl');
  if (fs.existsSync(stepsFile)) {
    for (const step of readRecords(stepsFile)) {
      if (step.rank !== 0 && step.rank !== undefined) continue;
      const timeS = (Date.parse(String(step.time)) - origin) / 1000;
      if (Number.isFinite(timeS)) timeline.steps.push({ timeS, step: step.step as number });
    }
  }
  return timeline;
}
