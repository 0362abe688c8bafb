// Rank output on the launcher's console: whole lines, each prefixed with its rank.
import type { Readable } from 'node:stream';

export type LineWriter = (line: string) => void;

/** Splits `input` into lines and hands each to `write` with `[rank] ` in front; a last partial line too. */
export function prefixLines(input: Readable, prefix: string, write: LineWriter): Promise<void> {
  return new Promise((resolve) => {
    let pending = '';
    input.setEncoding('utf8');
    input.on('data', (chunk: string) => {
      const lines = (pending + chunk).split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) write(`${prefix}${line}\n`);
    });
    const end = () => {
      if (pending) write(`${prefix}${pending}\n`);
      pending = '';
      resolve();
    };
    input.on('end', end);
    input.on('error', end);
  });
}

/** srun --label output (`  3: text`) to the same `[3] text` form as local runs. */
export function relabelSrunLines(input: Readable, write: LineWriter): Promise<void> {
  return prefixLines(input, '', (line) => {
    const match = /^\s*(\d+): ?(.*\n)$/s.exec(line);
    write(match ? `[${match[1]}] ${match[2]}` : line);
  });
}
