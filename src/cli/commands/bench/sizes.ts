// Byte sizes for benchmark flags: "4KiB", "64MiB", "1GiB", "4096", "2MB"; and printing them back.
import { JouleError } from '../../../errors';

const units: Record<string, number> = { '': 1, b: 1, k: 1024, kb: 1000, kib: 1024, m: 1024 ** 2, mb: 1000 ** 2, mib: 1024 ** 2, g: 1024 ** 3, gb: 1000 ** 3, gib: 1024 ** 3 };

export function parseBytes(text: string, flag: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(String(text));
  const unit = match ? units[match[2].toLowerCase()] : undefined;
  if (!match || unit === undefined) {
    throw new JouleError('JOULE_BAD_ARGUMENT', `${flag}: cannot read "${text}" as a size (examples: 4096, 256KiB, 64MiB, 1GiB)`);
  }
  const bytes = Math.round(Number(match[1]) * unit);
  if (!Number.isSafeInteger(bytes) || bytes <= 0) throw new JouleError('JOULE_BAD_ARGUMENT', `${flag}: ${text} is not a positive size`);
  return bytes;
}

export function formatBytes(bytes: number): string {
  for (const [unit, size] of [['GiB', 1024 ** 3], ['MiB', 1024 ** 2], ['KiB', 1024]] as const) {
    if (bytes >= size && bytes % size === 0) return `${bytes / size} ${unit}`;
  }
  return `${bytes} B`;
}
