// Power over time per domain from a run's power samples (runPower: the ranks' power.jsonl, or node-power.jsonl where no rank measured; counters differentiated J -> W, power readings as read, CPU time through the profile's per-core TDP, labelled model), with the run's events, steps, phases and collectives on the same clock.
import fs from 'node:fs';
import path from 'node:path';
import { readRecords } from '../../power/records';
import { hasRunPower, runPower } from '../../power/run-samples';

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

export function runTimeline(dir: string): RunTimeline {
  const timeline: RunTimeline = { power: [], marks: [], steps: [], spans: [], originEpochMs: null };
  if (!hasRunPower(dir)) return timeline;
  // The ranks' own samples, or the node sampler's for nodes where no rank measured (a command that never called joule.init()).
  const { records, channels, clocks } = runPower(dir);
  if (channels.length === 0) return timeline;
  const origin = Math.min(...channels.map((c) => c.timesS[0])) * 1000;
  timeline.originEpochMs = origin;
  for (const channel of channels) {
    const who = channel.measuredBy === 'node' ? 'node sampler' : `rank ${channel.rank}`;
    channel.timesS.forEach((timeS, i) => {
      const dt = i > 0 ? timeS - channel.timesS[i - 1] : 0;
      const [e0, e1, c0, c1] = [channel.energyJ[i - 1], channel.energyJ[i], channel.cpuTimeS[i - 1], channel.cpuTimeS[i]];
      let watts: number | null;
      if (channel.kind === 'process') watts = dt > 0 && c0 != null && c1 != null ? ((c1 - c0) / dt) * (channel.cpuTdpPerCoreW ?? 10) : null;
      else if (e1 != null && e0 != null && dt > 0) watts = (e1 - e0) / dt;
      else watts = channel.powerW[i];
      if (watts === null || !Number.isFinite(watts) || watts < 0) return;
      timeline.power.push({ timeS: timeS - origin / 1000, powerW: watts, domain: `${channel.host} ${channel.label} (${who})`, source: channel.source });
    });
  }
  timeline.power.sort((a, b) => a.timeS - b.timeS);
  for (const r of records) {
    // Collectives and phases run on every rank at nearly the same time: rank 0's stand for the job's.
    if (r.type !== 'power-window' || r.rank !== 0 || typeof r.name !== 'string') continue;
    const what = classifyWindow(r.name);
    const clock = clocks.get(0);
    if (!what || !clock) continue;
    const at = (monotonicS: number) => (clock.epochMs + (monotonicS - clock.monotonicS) * 1000 - origin) / 1000;
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
