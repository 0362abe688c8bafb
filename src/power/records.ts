// Power records on disk: an append-only JSON-lines sink and a reader that survives a torn last line.
import fs from 'node:fs';
import path from 'node:path';
import { attribute, type Attribution, type NodePower, type RankPlace, type RankPower } from './attribution';
import type { PowerSink } from './monitor';
import { defaultEnergyProfile, type EnergyProfile } from './profile';
import type { WindowResult } from './types';

/**
 * Appends each record as one line of `<dir>/<stream>.jsonl` (0644, opened O_APPEND): a crash leaves
 * every complete line readable. For standalone use; in a launched job world.stream does this.
 */
export function jsonlSink(dir: string): PowerSink {
  fs.mkdirSync(dir, { recursive: true, mode: 0o755 });
  const files = new Map<string, number>();
  return (stream, record) => {
    let fd = files.get(stream);
    if (fd === undefined) {
      fd = fs.openSync(path.join(dir, `${stream}.jsonl`), 'a', 0o644);
      files.set(stream, fd);
    }
    fs.writeSync(fd, `${JSON.stringify(record)}\n`);
  };
}

/** A line readRecords skipped: its number (from 1), and whether it is a last line cut short by a crash. */
export interface SkippedLine {
  line: number;
  torn: boolean;
  reason: string;
}

/**
 * Every record (JSON object) of a JSON-lines file. Other lines are skipped and, when `onSkip` is given,
 * reported by number: a torn last line is what a crash leaves; any other bad line means damage.
 */
export function readRecords(file: string, onSkip?: (skipped: SkippedLine) => void): Record<string, unknown>[] {
  const text = fs.readFileSync(file, 'utf8');
  const lines = text.split('\n');
  const records: Record<string, unknown>[] = [];
  lines.forEach((line, index) => {
    if (!line.trim()) return;
    const torn = index === lines.length - 1 && !text.endsWith('\n');
    try {
      const record = JSON.parse(line);
      if (record === null || typeof record !== 'object' || Array.isArray(record)) throw new Error('not a JSON object');
      records.push(record);
    } catch (error) {
      onSkip?.({ line: index + 1, torn, reason: (error as Error).message });
    }
  });
  return records;
}

/** The node samplers' whole-run windows (node-power.jsonl), latest progress standing in for a run that never ended. */
export function nodePowerRuns(records: Record<string, unknown>[]): NodePower[] {
  const nodes = new Map<string, NodePower>();
  let ranksCpuTimeS: number | undefined;
  for (const record of records) {
    const host = typeof record.host === 'string' ? record.host : 'localhost';
    if (record.type === 'node-ranks-cpu' && typeof record.ranksCpuTimeS === 'number') ranksCpuTimeS = record.ranksCpuTimeS;
    const ended = nodes.get(host)?.incomplete === false;
    if (record.type === 'power-run' || (record.type === 'power-progress' && !ended)) {
      nodes.set(host, { host, rank: typeof record.rank === 'number' ? record.rank : 0, run: record as unknown as WindowResult, incomplete: record.type === 'power-progress' });
    }
  }
  // Only the local launcher writes the ranks' CPU time, and it samples one host.
  if (ranksCpuTimeS !== undefined && nodes.size === 1) for (const node of nodes.values()) node.ranksCpuTimeS = ranksCpuTimeS;
  return [...nodes.values()];
}

/**
 * The per-rank energies and the attribution of a run's power records (what run.json's energy holds): the
 * ranks' own (power.jsonl) and, for nodes where none ran, the node samplers' (node-power.jsonl).
 */
export function energySummary(records: Record<string, unknown>[], profile: EnergyProfile = defaultEnergyProfile, nodeRecords: Record<string, unknown>[] = [], places: RankPlace[] = []): Attribution {
  const ranks = new Map<number, RankPower>();
  const idle = new Map<number, WindowResult>();
  for (const record of records) {
    const rank = typeof record.rank === 'number' ? record.rank : 0;
    // A rank's power-run record (written when it finishes) wins; until then, its latest progress stands.
    const progress = record.type === 'power-progress' && !(ranks.get(rank)?.incomplete === false) && (ranks.get(rank)?.run.endS ?? -Infinity) <= Number(record.endS);
    if (record.type === 'power-run' || progress) {
      ranks.set(rank, {
        incomplete: progress,
        rank,
        localRank: typeof record.localRank === 'number' ? record.localRank : 0,
        host: typeof record.host === 'string' ? record.host : 'localhost',
        run: record as unknown as WindowResult,
        overrunSamples: (record.stats as { overrunSamples?: number } | undefined)?.overrunSamples ?? 0,
      });
    } else if (record.type === 'power-window' && record.name === 'idle-baseline') {
      idle.set(rank, record as unknown as WindowResult);
    }
  }
  for (const [rank, window] of idle) {
    const entry = ranks.get(rank);
    if (entry) entry.idle = window;
  }
  return attribute([...ranks.values()], profile, nodePowerRuns(nodeRecords), places);
}
