// Runs a fixture script as N rank processes sharing a file-world directory; when one rank dies with
// a failure, the others get the abort signal, as a coordinator would send it.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface RankResult {
  rank: number;
  code: number | null;
  stdout: string;
  stderr: string;
  /** The JSON the fixture printed as its last stdout line, if any. */
  report?: unknown;
}

export async function spawnRanks(script: string, size: number, env: Record<string, string> = {}, timeoutMs = 120_000): Promise<RankResult[]> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'joule-comm-test-'));
  try {
    const children = Array.from({ length: size }, (_, rank) =>
      spawn(process.execPath, ['--require', 'tsx/cjs', script], {
        env: { ...process.env, ...env, TEST_RANK: String(rank), TEST_SIZE: String(size), TEST_DIR: dir },
        stdio: ['ignore', 'pipe', 'pipe'],
      }),
    );
    const timer = setTimeout(() => children.forEach((c) => c.kill('SIGKILL')), timeoutMs);
    const results = await Promise.all(
      children.map(
        (child, rank) =>
          new Promise<RankResult>((resolve) => {
            let stdout = '';
            let stderr = '';
            child.stdout.on('data', (d) => (stdout += d));
            child.stderr.on('data', (d) => (stderr += d));
            child.on('close', (code) => {
              if (code !== 0 && !fs.existsSync(path.join(dir, 'abort'))) {
                fs.writeFileSync(path.join(dir, 'abort'), `rank ${rank} exited with code ${code}`);
              }
              const last = stdout.trim().split('\n').pop() ?? '';
              let report: unknown;
              try {
                report = JSON.parse(last);
              } catch {
                report = undefined;
              }
              resolve({ rank, code, stdout, stderr, report });
            });
          }),
      ),
    );
    clearTimeout(timer);
    return results;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
