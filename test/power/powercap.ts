// Builds a fake powercap tree in a temporary folder for the RAPL tests.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface FakeZone {
  /** Relative path, e.g. intel-rapl:0 or intel-rapl:0/intel-rapl:0:0. */
  zone: string;
  name: string;
  energyUj?: number;
  maxEnergyRangeUj: number;
  /** constraint_0_max_power_uw, which bounds how fast the counter can wrap. */
  maxPowerUw?: number;
  /** Make energy_uj a directory: unreadable even for root (EISDIR). */
  unreadable?: boolean;
}

export function fakePowercap(zones: FakeZone[]): { root: string; energyFile: (zone: string) => string; remove: () => void } {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'joule-powercap-'));
  fs.chmodSync(root, 0o755);
  for (const zone of zones) {
    const dir = path.join(root, zone.zone);
    fs.mkdirSync(dir, { recursive: true, mode: 0o755 });
    fs.writeFileSync(path.join(dir, 'name'), `${zone.name}\n`);
    fs.writeFileSync(path.join(dir, 'max_energy_range_uj'), `${zone.maxEnergyRangeUj}\n`);
    if (zone.maxPowerUw !== undefined) fs.writeFileSync(path.join(dir, 'constraint_0_max_power_uw'), `${zone.maxPowerUw}\n`);
    if (zone.unreadable) fs.mkdirSync(path.join(dir, 'energy_uj'));
    else fs.writeFileSync(path.join(dir, 'energy_uj'), `${zone.energyUj ?? 0}\n`, { mode: 0o644 });
  }
  return {
    root,
    energyFile: (zone) => path.join(root, zone, 'energy_uj'),
    remove: () => fs.rmSync(root, { recursive: true, force: true }),
  };
}

/**
 * Advances a fake energy_uj counter by `stepUj` every `periodMs` from a process of its own, written in
 * place at a fixed width (never truncated, so no reader finds the file empty); the caller only waits.
 * Returns the function that stops it.
 */
export function advanceCounter(energyFile: string, stepUj: number, periodMs: number): () => void {
  const writer = spawn(process.execPath, ['-e', `
    const fs = require('node:fs');
    const [file, stepUj, periodMs] = process.argv.slice(1);
    const fd = fs.openSync(file, 'r+');
    let uj = Number(fs.readFileSync(file, 'utf8'));
    const write = () => fs.writeSync(fd, String(uj).padStart(20, '0') + '\\n', 0);
    write();
    setInterval(() => { uj += Number(stepUj); write(); }, Number(periodMs));
  `, energyFile, String(stepUj), String(periodMs)], { stdio: 'ignore' });
  return () => writer.kill();
}
