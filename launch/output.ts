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

/** The last lines each rank wrote to stderr (as `[rank] text` lines), bounded, for the run record's failure. */
export class StderrTails {
  private readonly lines = new Map<number, string[]>();

  constructor(
    private readonly maxLines = 20,
    private readonly maxLineChars = 300,
  ) {}

  /** Takes text as the launcher prints it; lines without a `[rank] ` prefix (its own messages) are not kept. */
  add(text: string): void {
    for (const line of text.split('\n')) {
      const match = /^\[(\d+)\] (.*)$/s.exec(line);
      if (!match) continue;
      const rank = Number(match[1]);
      const kept = this.lines.get(rank) ?? [];
      kept.push(match[2].length > this.maxLineChars ? `${match[2].slice(0, this.maxLineChars)}…` : match[2]);
      if (kept.length > this.maxLines) kept.shift();
      this.lines.set(rank, kept);
    }
  }

  of(rank: number): string[] {
    return [...(this.lines.get(rank) ?? [])];
  }
}

/** The exception a rank died of, from its last stderr lines: Node's `Error: text` line (the last one). */
export function exceptionLine(lines: string[]): string | undefined {
  return lines.filter((line) => /^(Uncaught )?([A-Z]\w*)?(Error|Exception)\b(\s*\[[A-Z_]+\])?:? /.test(line)).at(-1);
}
