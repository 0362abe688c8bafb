// A run directory: run.json replaced atomically, events.jsonl and one `<stream>.jsonl` per named stream.
import fs from 'node:fs';
import path from 'node:path';
import { JouleError } from '../errors';
import { JsonlAppender } from './jsonl';

/** Stream names become file names: keep them plain, and keep `events` for the coordinator's own log. */
const STREAM_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
const RESERVED = new Set(['events', 'run']);

export function checkStreamName(name: string): void {
  if (!STREAM_NAME.test(name) || RESERVED.has(name)) {
    throw new JouleError('JOULE_BAD_ARGUMENT', `stream name "${name}" must match ${STREAM_NAME} and not be one of: ${[...RESERVED].join(', ')}`);
  }
}

export class RunRecorder {
  readonly dir: string;
  private readonly streams = new Map<string, JsonlAppender>();
  private manifestChain: Promise<void> = Promise.resolve();

  private constructor(dir: string) {
    this.dir = dir;
  }

  /** Creates the directory (0755: readable by the team, writable by the owner). */
  static async create(dir: string): Promise<RunRecorder> {
    await fs.promises.mkdir(dir, { recursive: true, mode: 0o755 });
    return new RunRecorder(path.resolve(dir));
  }

  /** Replaces run.json atomically: readers see the old or the new file, never half of one. */
  writeManifest(manifest: Record<string, unknown>): Promise<void> {
    const text = `${JSON.stringify(manifest, null, 2)}\n`;
    this.manifestChain = this.manifestChain.then(async () => {
      const target = path.join(this.dir, 'run.json');
      const temp = path.join(this.dir, `.run.json.${process.pid}.tmp`);
      const handle = await fs.promises.open(temp, 'w', 0o644);
      try {
        await handle.writeFile(text);
        await handle.sync();
      } finally {
        await handle.close();
      }
      await fs.promises.rename(temp, target);
    });
    return this.manifestChain;
  }

  event(type: string, fields: Record<string, unknown> = {}): void {
    this.appender('events').append({ time: new Date().toISOString(), type, ...fields });
  }

  /** Appends to `<name>.jsonl`; the name must already be checked with checkStreamName. */
  stream(name: string, record: Record<string, unknown>): void {
    this.appender(name).append(record);
  }

  private appender(name: string): JsonlAppender {
    let appender = this.streams.get(name);
    if (!appender) {
      appender = new JsonlAppender(path.join(this.dir, `${name}.jsonl`));
      this.streams.set(name, appender);
    }
    return appender;
  }

  /** The streams written so far (file names), for the manifest. */
  streamFiles(): string[] {
    return [...this.streams.keys()].map((name) => `${name}.jsonl`).sort();
  }

  async flush(): Promise<void> {
    await Promise.all([...this.streams.values()].map((s) => s.flush()));
    await this.manifestChain;
  }

  async close(): Promise<void> {
    await Promise.all([...this.streams.values()].map((s) => s.close()));
    await this.manifestChain;
  }
}
