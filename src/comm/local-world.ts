// A coordinator-free rank runtime for processes of one user on one node (the benchmark's own `-n`
// launcher and the communicator tests): key-value through files in a private (0700) directory, and an
// abort signal (an `abort` file the parent writes when a rank dies, as a coordinator would broadcast it).
import fs from 'node:fs';
import path from 'node:path';
import { JouleError } from '../errors';
import type { CommWorld } from './types';

export function localWorld(dir: string, rank: number, size: number, gpus: number[] = []): CommWorld & { stop(): void } {
  const kvDir = path.join(dir, 'kv');
  fs.mkdirSync(kvDir, { recursive: true, mode: 0o700 });
  const file = (key: string) => path.join(kvDir, encodeURIComponent(key));
  const read = (key: string) => (fs.existsSync(file(key)) ? fs.readFileSync(file(key), 'utf8') : undefined);
  const listeners: ((reason: Error) => void)[] = [];
  const abortFile = path.join(dir, 'abort');
  const poll = setInterval(() => {
    if (!fs.existsSync(abortFile)) return;
    clearInterval(poll);
    const reason = new Error(fs.readFileSync(abortFile, 'utf8'));
    for (const listener of listeners) listener(reason);
  }, 20);
  poll.unref();
  return {
    rank,
    size,
    host: 'localhost',
    nodeRank: 0,
    nodes: 1,
    runDir: dir,
    gpus,
    kv: {
      async set(key, value) {
        const tmp = `${file(key)}.${rank}.tmp`;
        fs.writeFileSync(tmp, value, { mode: 0o600 });
        fs.renameSync(tmp, file(key));
      },
      async get(key) {
        return read(key);
      },
      async wait(key, timeoutMs = 60_000) {
        const deadline = Date.now() + timeoutMs;
        for (;;) {
          const value = read(key);
          if (value !== undefined) return value;
          if (Date.now() > deadline) throw new JouleError('JOULE_TIMEOUT', `kv wait ${key} timed out`);
          await new Promise((resolve) => setTimeout(resolve, 5));
        }
      },
    },
    onAbort(listener) {
      listeners.push(listener);
    },
    setActivity() {},
    stop() {
      clearInterval(poll);
    },
  };
}
