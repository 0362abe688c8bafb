// Power logs as CSV: nvidia-smi's `--format=csv` (units in the header and values), tools' own headers, and plain `time_s,power_w[,device]`.
import { parse } from 'csv-parse/sync';
import { JouleError } from '../../errors';
import type { PowerSeries, PowerTrace, TraceIssue } from '../trace';

/** Which columns hold the time, the power and the device; found from the header unless given. */
export interface PowerCsvColumns {
  time?: string;
  power?: string;
  device?: string;
}

// nvidia-smi prints these instead of a number when a reading is absent; they are gaps, not errors.
const MISSING = /^\[?(N\/A|Not Supported|Unknown Error|GPU is lost|Insufficient Permissions|Requested functionality has been deprecated)\]?$/i;

/** Header names without nvidia-smi's unit suffix (`power.draw [W]` -> `power.draw`), lower case. */
function bare(name: string): string {
  return name.replace(/\s*\[[^\]]*\]\s*$/, '').trim().toLowerCase();
}

function findColumn(header: string[], wanted: string | undefined, candidates: string[], what: string, file: string): number {
  const names = header.map(bare);
  if (wanted !== undefined) {
    const index = names.indexOf(bare(wanted));
    if (index < 0) throw new JouleError('JOULE_BAD_ARGUMENT', `${file}: no ${what} column "${wanted}" (columns: ${header.join(', ')})`);
    return index;
  }
  for (const candidate of candidates) {
    const index = names.indexOf(candidate);
    if (index >= 0) return index;
  }
  return -1;
}

// Timestamps as nvidia-smi writes them (2026/11/30 12:00:00.123) or ISO 8601; without a zone they are
// read as UTC, which keeps differences right except across a daylight-saving change in the log.
const DATE_TIME = /^(\d{4})[/-](\d{1,2})[/-](\d{1,2})[ T](\d{1,2}):(\d{2}):(\d{2}(?:\.\d+)?)\s*(Z|[+-]\d{2}:?\d{2})?$/i;

/** Seconds from a timestamp (date-time, or a number of seconds); NaN when it is neither. */
export function parseTimestampS(text: string): number {
  const trimmed = text.trim();
  if (/^[+-]?\d+(\.\d+)?([eE][+-]?\d+)?$/.test(trimmed)) return Number(trimmed);
  const m = DATE_TIME.exec(trimmed);
  if (!m) return NaN;
  const [, y, mo, d, h, mi, s, zone] = m;
  const whole = Math.floor(Number(s));
  let ms = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), whole);
  const check = new Date(ms);
  if (check.getUTCDate() !== Number(d) || Number(h) > 23 || whole > 59) return NaN;
  if (zone && zone.toUpperCase() !== 'Z') {
    const sign = zone.startsWith('-') ? -1 : 1;
    const digits = zone.slice(1).replace(':', '');
    ms -= sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2))) * 60_000;
  }
  return ms / 1000 + (Number(s) - whole);
}

/** Watts from `119.17 W`, `119.17` or `119170 mW`; NaN when it is not a power. */
export function parsePowerW(text: string): number {
  const m = /^([+-]?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)\s*(W|mW|kW)?$/i.exec(text.trim());
  if (!m) return NaN;
  const unit = (m[2] ?? 'W').toLowerCase();
  return Number(m[1]) * (unit === 'mw' ? 1e-3 : unit === 'kw' ? 1e3 : 1);
}

interface Reading {
  timeS: number;
  powerW: number;
  line: number;
}

/**
 * Reads a power log. Columns are found by name: time from `timestamp` or `time_s` (or `time`), power
 * from nvidia-smi's `power.draw` (then `power.draw.average`, `power.draw.instant`) or `power_w` (or
 * `power`), the device from `pci.bus_id`, `uuid`, `index` or `device` (one device when there is none).
 * A header may carry units (`power.draw [W]`) and values may too (`119.17 W`). nvidia-smi's `[N/A]`
 * and `[Not Supported]` are missing readings; anything else unreadable is a malformed line. Both are
 * reported with their line numbers and left out, never guessed. Rows are sorted by time; a repeated
 * time with the same power is a duplicate (one kept), with a different power a conflict (both left out).
 */
export function parsePowerCsv(text: string, file: string, columns: PowerCsvColumns = {}): PowerTrace {
  const issues: TraceIssue[] = [];
  let rows: { record: string[]; info: { lines: number } }[];
  try {
    rows = parse(text, { relax_column_count: true, trim: true, skip_empty_lines: true, info: true, comment: '#', bom: true }) as unknown as typeof rows;
  } catch (error) {
    const e = error as Error & { lines?: number };
    throw new JouleError('JOULE_BAD_ARGUMENT', `${file}${e.lines ? `:${e.lines}` : ''}: not CSV: ${e.message}`, { file, line: e.lines });
  }
  if (rows.length === 0) throw new JouleError('JOULE_BAD_ARGUMENT', `${file}: empty (no header, no readings)`, { file });
  const header = rows[0].record;
  const time = findColumn(header, columns.time, ['timestamp', 'time_s', 'time'], 'time', file);
  const power = findColumn(header, columns.power, ['power.draw', 'power.draw.average', 'power.draw.instant', 'power_w', 'power'], 'power', file);
  const device = findColumn(header, columns.device, ['pci.bus_id', 'uuid', 'index', 'device'], 'device', file);
  if (time < 0 || power < 0) {
    throw new JouleError(
      'JOULE_BAD_ARGUMENT',
      `${file}:1: the header names no ${time < 0 ? 'time' : 'power'} column (columns: ${header.join(', ')}); ` +
        'expected nvidia-smi --query-gpu=timestamp,...,power.draw --format=csv, time_s,power_w[,device], or name the columns',
      { file, line: 1 },
    );
  }
  const nvidiaSmi = bare(header[power]).startsWith('power.draw');
  const byDevice = new Map<string, Reading[]>();
  const headerLine = header.join(',');
  for (const { record, info } of rows.slice(1)) {
    const line = info.lines;
    if (record.join(',') === headerLine) {
      issues.push({ file, line, kind: 'repeated-header', message: 'the header again (logs joined together?): skipped' });
      continue;
    }
    if (record.length !== header.length) {
      issues.push({ file, line, kind: 'malformed', message: `${record.length} fields, the header has ${header.length}` });
      continue;
    }
    const timeS = parseTimestampS(record[time]);
    if (Number.isNaN(timeS)) {
      issues.push({ file, line, kind: 'malformed', message: `time "${record[time]}" is not a timestamp or a number of seconds` });
      continue;
    }
    const rawPower = record[power];
    if (MISSING.test(rawPower)) {
      issues.push({ file, line, kind: 'missing-value', message: `no power reading (${rawPower})` });
      continue;
    }
    const powerW = parsePowerW(rawPower);
    if (!Number.isFinite(powerW) || powerW < 0) {
      issues.push({ file, line, kind: 'malformed', message: `power "${rawPower}" is not a number of watts` });
      continue;
    }
    const name = device >= 0 ? record[device] : 'gpu';
    if (!byDevice.has(name)) byDevice.set(name, []);
    byDevice.get(name)!.push({ timeS, powerW, line });
  }
  const series: PowerSeries[] = [];
  for (const [name, readings] of byDevice) {
    series.push(toSeries(name, readings, nvidiaSmi ? 'nvidia-smi' : 'csv', file, issues));
  }
  for (const one of series.filter((s) => s.timesS.length < 2)) {
    issues.push({ file, kind: 'note', message: `${one.device}: fewer than two usable readings: no energy from it` });
  }
  if (series.every((s) => s.timesS.length < 2)) {
    throw new JouleError('JOULE_BAD_ARGUMENT', `${file}: fewer than two usable readings per device (${issues.length} lines left out${issues[0] ? `, first: line ${issues[0].line}: ${issues[0].message}` : ''})`, {
      file,
      issues: issues.slice(0, 20),
    });
  }
  issues.sort((a, b) => (a.line ?? 0) - (b.line ?? 0));
  return { name: file, format: nvidiaSmi ? 'nvidia-smi' : 'csv', series: series.filter((s) => s.timesS.length >= 2), epochs: [], issues };
}

function toSeries(device: string, readings: Reading[], source: 'nvidia-smi' | 'csv', file: string, issues: TraceIssue[]): PowerSeries {
  const late = readings.filter((r, i) => i > 0 && r.timeS < readings[i - 1].timeS);
  if (late.length > 0) {
    issues.push({ file, line: late[0].line, kind: 'unsorted', message: `${device}: ${late.length} readings earlier than the line before (sorted by time)` });
  }
  const sorted = [...readings].sort((a, b) => a.timeS - b.timeS || a.line - b.line);
  const kept: Reading[] = [];
  for (let i = 0; i < sorted.length; ) {
    let j = i + 1;
    while (j < sorted.length && sorted[j].timeS === sorted[i].timeS) j++;
    const same = sorted.slice(i, j);
    if (same.every((r) => r.powerW === same[0].powerW)) {
      kept.push(same[0]);
      for (const r of same.slice(1)) issues.push({ file, line: r.line, kind: 'duplicate', message: `${device}: same time and power as line ${same[0].line} (kept once)` });
    } else {
      for (const r of same) {
        issues.push({ file, line: r.line, kind: 'conflict', message: `${device}: time repeated with different power (lines ${same.map((x) => x.line).join(', ')}): left out` });
      }
    }
    i = j;
  }
  return { device, source, timesS: kept.map((r) => r.timeS), powerW: kept.map((r) => r.powerW) };
}
