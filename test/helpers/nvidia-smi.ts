// nvidia-smi logs as nvidia-smi prints them (--query-gpu=timestamp,name,pci.bus_id,power.draw,utilization.gpu --format=csv), for the import, estimation and report tests.
import fs from 'node:fs';
import path from 'node:path';

export const SMI_HEADER = 'timestamp, name, pci.bus_id, power.draw [W], utilization.gpu [%]';

/** Bus ids of the GPUs a written log holds, in order. */
export const SMI_BUSES = ['00000000:18:00.0', '00000000:2A:00.0', '00000000:3D:00.0', '00000000:AB:00.0'];

/** nvidia-smi's timestamp `s` seconds after 2026/11/30 12:00:00. */
export function smiTimestamp(s: number): string {
  const two = (n: number) => String(n).padStart(2, '0');
  return `2026/11/30 ${two(12 + Math.floor(s / 3600))}:${two(Math.floor((s % 3600) / 60))}:${(s % 60).toFixed(3).padStart(6, '0')}`;
}

/** One line of the log: `power` as nvidia-smi writes it ("119.17 W", "[N/A]", "[Not Supported]"). */
export function smiRow(s: number, bus: string, power: string, util = '97 %'): string {
  return `${smiTimestamp(s)}, NVIDIA H100 80GB HBM3, ${bus}, ${power}, ${util}`;
}

/**
 * `<dir>/<name>.csv`: one GPU per series of `powerW` (1 Hz, a reading per second), `[N/A]` where `missing`
 * says, and `<name>.epochs.csv` beside it (`epoch,end_time`, one epoch every `epochS` seconds). Returns the log's path.
 */
export function writeSmiLog(dir: string, name: string, powerW: number[][], options: { epochS?: number; missing?: { gpu: number; s: number } } = {}): string {
  const epochS = options.epochS ?? 60;
  const seconds = powerW[0].length;
  const lines = [SMI_HEADER];
  for (let s = 0; s < seconds; s++) {
    powerW.forEach((series, gpu) => lines.push(smiRow(s, SMI_BUSES[gpu], options.missing?.gpu === gpu && options.missing.s === s ? '[N/A]' : `${series[s].toFixed(2)} W`, '98 %')));
  }
  const file = path.join(dir, `${name}.csv`);
  fs.writeFileSync(file, `${lines.join('\n')}\n`);
  const epochs = Array.from({ length: Math.floor((seconds - 1) / epochS) }, (_, e) => `${e + 1},${smiTimestamp((e + 1) * epochS)}`);
  fs.writeFileSync(path.join(dir, `${name}.epochs.csv`), `epoch,end_time\n${epochs.join('\n')}\n`);
  return file;
}
