// Append-only JSON-lines files written in batches: a crash loses at most the last batch, never the file.
import fs from 'node:fs';

export interface JsonlOptions {
  /** Longest a record waits in memory before it is written. */
  flushMs?: number;
  /** Records that trigger an immediate write. */
  maxBatch?: number;
}

export class JsonlAppender {
  private readonly path: string;
  private readonly flushMs: number;
  private readonly maxBatch: number;
  private buffer: string[] = [];
  private timer?: NodeJS.Timeout;
  private chain: Promise<void> = Promise.resolve();
  private handle?: Promise<fs.promises.FileHandle>;
  /** The first write error, reported once by flush(). */
  private error?: Error;

  constructor(path: string, options: JsonlOptions = {}) {
    this.path = path;
    this.flushMs = options.flushMs ?? 200;
    this.maxBatch = options.maxBatch ?? 500;
  }

  append(record: Record<string, unknown>): void {
    this.buffer.push(`${JSON.stringify(record)}\n`);
    if (this.buffer.length >= this.maxBatch) void this.flush();
    else if (!this.timer) {
      this.timer = setTimeout(() => void this.flush(), this.flushMs);
      this.timer.unref();
    }
  }

  /** Writes what is buffered as one append (whole lines only), in order with earlier flushes. */
  flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.buffer.length > 0) {
      const data = this.buffer.join('');
      this.buffer = [];
      this.chain = this.chain.then(async () => {
        try {
          this.handle ??= fs.promises.open(this.path, 'a', 0o644);
          await (await this.handle).appendFile(data);
        } catch (error) {
          this.error ??= error as Error;
        }
      });
    }
    return this.chain.then(() => {
      if (this.error) throw this.error;
    });
  }

  async close(): Promise<void> {
    try {
      await this.flush();
    } finally {
      if (this.handle) await (await this.handle).close().catch(() => undefined);
      this.handle = undefined;
    }
  }
}
