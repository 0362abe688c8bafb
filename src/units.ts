// Reading the amounts people type on command lines: energies (`--energy-budget 5kWh`) and durations
// (`--idle-baseline 500ms`, `--duration 10h`, `--max-time 12:00:00`).
import { JouleError } from './errors';

const energyUnits: Record<string, number> = { j: 1, kj: 1e3, mj: 1e6, gj: 1e9, wh: 3600, kwh: 3.6e6, mwh: 3.6e9 };

/** Joules from `5e6`, `5e6J`, `800kJ`, `1.5 kWh`, `2MWh`; a bare number is joules. */
export function parseEnergyJ(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)\s*([a-zA-Z]*)\s*$/.exec(String(text));
  const factor = m ? energyUnits[(m[2] || 'j').toLowerCase()] : undefined;
  if (!m || factor === undefined || !(Number(m[1]) > 0)) {
    throw new JouleError('JOULE_BAD_ARGUMENT', `"${text}" is not an energy (e.g. 5e6, 800kJ, 1.5kWh)`);
  }
  return Number(m[1]) * factor;
}

const timeUnits: Record<string, number> = { ms: 0.001, s: 1, m: 60, min: 60, h: 3600, d: 86400 };

/** Seconds from `1.5`, `500ms`, `5s`, `90m`, `10h`, `2d`, or `HH:MM:SS`; a bare number is seconds. */
export function parseDurationS(text: string): number {
  const clock = /^\s*(\d+):(\d{2}):(\d{2})\s*$/.exec(String(text));
  if (clock) return Number(clock[1]) * 3600 + Number(clock[2]) * 60 + Number(clock[3]);
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|min|m|h|d)?\s*$/.exec(String(text));
  if (!m) throw new JouleError('JOULE_BAD_ARGUMENT', `"${text}" is not a duration (e.g. 500ms, 5s, 90m, 10h, 2d, 12:00:00)`);
  return Number(m[1]) * timeUnits[m[2] ?? 's'];
}
