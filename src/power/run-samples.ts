// A run's power samples, whoever measured them: what the power views (trace, report, estimation, compare) read.
import fs from 'node:fs';
import path from 'node:path';
import { JouleError } from '../errors';
import { NODE_POWER_STREAM } from './node-sampler';
import { readRecords, type SkippedLine } from './records';

export type SampleSource = 'nvml' | 'rapl' | 'model';

/** One channel's readings as its rank (or node sampler) took them, on the wall clock. */
export interface ChannelSamples {
  /** The rank that read the channel; for a node sampler, the node's first rank. */
  rank: number;
  host: string;
  /** As the monitor named it: gpu0, package-0@intel-rapl:0, process. */
  label: string;
  kind: 'gpu' | 'rapl' | 'process';
  /** gpu: nvml; rapl: rapl; process: CPU time, turned into power by the profile's model. */
  source: SampleSource;
  /** Who measured the node: its ranks' own monitors (power.jsonl) or the node sampler (node-power.jsonl). */
  measuredBy: 'ranks' | 'node';
  periodS?: number;
  /** The profile's W per core, the model of the process channel. */
  cpuTdpPerCoreW?: number;
  /** Epoch seconds: each reader's monotonic times mapped through its own (monotonic, wall) pair. */
  timesS: number[];
  energyJ: (number | null)[];
  powerW: (number | null)[];
  cpuTimeS: (number | null)[];
}

export interface RunPower {
  /** The records the samples came from (power.jsonl's of the nodes ranks measured, node-power.jsonl's of the others), windows included. */
  records: Record<string, unknown>[];
  channels: ChannelSamples[];
  /** The files read, rank streams first. */
  files: string[];
  nodes: { host: string; measuredBy: 'ranks' | 'node' }[];
  /** Each reader's clock: rank (or node sampler's rank) -> its (monotonic, wall) pair. */
  clocks: Map<number, { monotonicS: number; epochMs: number }>;
  /** Readers with samples but no power-channels record (so no clock): their samples are left out. */
  unplacedRanks: number[];
}

const SOURCE: Record<ChannelSamples['kind'], SampleSource> = { gpu: 'nvml', rapl: 'rapl', process: 'model' };

const hostOf = (record: Record<string, unknown>) => (typeof record.host === 'string' ? record.host : 'localhost');
const rankOf = (record: Record<string, unknown>) => (typeof record.rank === 'number' ? record.rank : 0);

/**
 * Which records stand for each node, by the rule run.json's energy follows (attribute()): a node where any
 * rank's own monitor ran (a power-run or power-progress record) is its ranks', any other is its node
 * sampler's; a node the sampler did not cover (runs from before it) keeps whatever its ranks wrote. One
 * source per node, so nothing is shown twice.
 */
export function chooseRecords(rankRecords: Record<string, unknown>[], nodeRecords: Record<string, unknown>[]): Pick<RunPower, 'records' | 'nodes'> {
  const hostsWith = (records: Record<string, unknown>[], types: string[]) => new Set(records.filter((r) => types.includes(String(r.type))).map(hostOf));
  const measured = hostsWith(rankRecords, ['power-run', 'power-progress']);
  // Hosts are read off the monitors' own records (the launcher's hostless node-ranks-cpu line is no node).
  const sampled = new Set([...hostsWith(nodeRecords, ['power-channels', 'power-run', 'power-progress'])].filter((host) => !measured.has(host)));
  const records = [...rankRecords.filter((r) => !sampled.has(hostOf(r))), ...nodeRecords.filter((r) => typeof r.host === 'string' && sampled.has(r.host))];
  // In rank order, as run.json's nodes: a node's lowest rank (its sampler files under the node's first rank).
  const firstRank = new Map<string, number>();
  for (const r of records) if (r.type === 'power-channels') firstRank.set(hostOf(r), Math.min(firstRank.get(hostOf(r)) ?? Infinity, rankOf(r)));
  const hosts = [...firstRank.keys()].sort((x, y) => firstRank.get(x)! - firstRank.get(y)!);
  return { records, nodes: hosts.map((host) => ({ host, measuredBy: sampled.has(host) ? 'node' : 'ranks' })) };
}

/** Per channel samples from the chosen records; samples of a reader without its power-channels record are counted out. */
export function channelSamples(records: Record<string, unknown>[]): Pick<RunPower, 'channels' | 'clocks' | 'unplacedRanks'> {
  const clocks = new Map<number, { monotonicS: number; epochMs: number }>();
  const tables = new Map<number, ChannelSamples[]>();
  const unplaced = new Set<number>();
  for (const record of records) {
    const rank = rankOf(record);
    if (record.type === 'power-samples') {
      const table = tables.get(rank);
      const clock = clocks.get(rank);
      if (!table || !clock) {
        unplaced.add(rank);
        continue;
      }
      const fields = record.fields as string[];
      const [t, channel, energy, power, cpu] = ['timeS', 'channel', 'energyJ', 'powerW', 'cpuTimeS'].map((name) => fields.indexOf(name));
      for (const row of record.rows as (number | null)[][]) {
        const samples = table[row[channel] as number];
        if (!samples || row[t] === null) continue;
        samples.timesS.push(clock.epochMs / 1000 + ((row[t] as number) - clock.monotonicS));
        samples.energyJ.push(energy >= 0 ? row[energy] : null);
        samples.powerW.push(power >= 0 ? row[power] : null);
        samples.cpuTimeS.push(cpu >= 0 ? row[cpu] : null);
      }
    } else if (record.type === 'power-channels') {
      clocks.set(rank, record.clock as { monotonicS: number; epochMs: number });
      const profile = record.profile as { cpuTdpPerCoreW?: number } | undefined;
      const host = hostOf(record);
      tables.set(
        rank,
        (record.channels as { kind: ChannelSamples['kind']; label: string }[]).map((c) => ({
          rank,
          host,
          label: c.label,
          kind: c.kind,
          source: SOURCE[c.kind] ?? 'model',
          measuredBy: record.sampler === 'node' ? 'node' : 'ranks',
          ...(typeof record.periodS === 'number' ? { periodS: record.periodS } : {}),
          ...(typeof profile?.cpuTdpPerCoreW === 'number' ? { cpuTdpPerCoreW: profile.cpuTdpPerCoreW } : {}),
          timesS: [],
          energyJ: [],
          powerW: [],
          cpuTimeS: [],
        })),
      );
    }
  }
  // A node sampler's process channel is its own CPU time, not the workload's: no part of the run's power.
  const channels = [...tables.values()].flat().filter((c) => c.timesS.length > 0 && !(c.measuredBy === 'node' && c.kind === 'process'));
  return { channels, clocks, unplacedRanks: [...unplaced].sort((a, b) => a - b) };
}

/** The ranks' stream (power.jsonl, or streams/power.jsonl) and the node samplers' (node-power.jsonl), those that exist. */
function powerFiles(runDir: string): { rankFile?: string; nodeFile?: string } {
  const existing = (...names: string[]) => names.map((name) => path.join(runDir, name)).find((file) => fs.existsSync(file));
  return { rankFile: existing('power.jsonl', path.join('streams', 'power.jsonl')), nodeFile: existing(`${NODE_POWER_STREAM}.jsonl`) };
}

/**
 * The run's power samples: the ranks' power.jsonl and the node samplers' node-power.jsonl, one source per
 * node. `onSkip` hears of each line a file could not give (a torn last line is what a crash leaves).
 * Throws JOULE_BAD_ARGUMENT when the directory holds neither file.
 */
export function runPower(runDir: string, onSkip?: (file: string, skipped: SkippedLine) => void): RunPower {
  const { rankFile, nodeFile } = powerFiles(runDir);
  const files = [rankFile, nodeFile].filter((file): file is string => file !== undefined);
  if (files.length === 0) throw new JouleError('JOULE_BAD_ARGUMENT', `no power records in ${runDir} (looked for power.jsonl, streams/power.jsonl and ${NODE_POWER_STREAM}.jsonl)`);
  const read = (file: string | undefined) => (file ? readRecords(file, onSkip && ((skipped) => onSkip(file, skipped))) : []);
  const { records, nodes } = chooseRecords(read(rankFile), read(nodeFile));
  return { records, nodes, files, ...channelSamples(records) };
}

/** Whether a run directory holds any power records (runPower would not throw). */
export function hasRunPower(runDir: string): boolean {
  const { rankFile, nodeFile } = powerFiles(runDir);
  return rankFile !== undefined || nodeFile !== undefined;
}
