// A rank's activity channel: a pipe on fd 3 the rank writes each setActivity to synchronously, so the text
// is out of the process before it can crash; the launcher (or the srun-side supervisor) reads it to its end.
import type { Readable } from 'node:stream';

/** The file descriptor ranks find the channel on (JOULE_ACTIVITY_FD). */
export const ACTIVITY_FD = 3;

/** Longest wait for the channel's end after the rank exited: only a grandchild that inherited the pipe holds it open. */
const DRAIN_BOUND_MS = 1000;

export class ActivityChannel {
  /** The last activity the rank wrote. */
  last?: string;
  private readonly ended: Promise<void>;

  constructor(input: Readable | null | undefined) {
    this.ended = new Promise((resolve) => {
      if (!input) return resolve();
      let pending = '';
      input.setEncoding('utf8');
      input.on('data', (chunk: string) => {
        const lines = (pending + chunk).split('\n');
        pending = lines.pop() ?? '';
        for (const line of lines) this.take(line);
      });
      input.on('end', resolve);
      input.on('close', resolve);
      input.on('error', resolve);
    });
  }

  private take(line: string): void {
    try {
      const activity: unknown = JSON.parse(line);
      if (typeof activity === 'string') this.last = activity;
    } catch {
      // Not a line the runtime wrote (someone else used fd 3): not an activity.
    }
  }

  /** The rank's last activity once everything it wrote has been read (call after the process exited). */
  async final(): Promise<string | undefined> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.ended, new Promise((resolve) => (timer = setTimeout(resolve, DRAIN_BOUND_MS)))]);
    clearTimeout(timer);
    return this.last;
  }
}
