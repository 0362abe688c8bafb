// `joule train` runs in tests: the step records a run wrote, and a run stopped the way SLURM's time limit
// stops one (SIGTERM once training is under way).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { jouleBin } from './run';

/** steps.jsonl of a run directory, in step order. */
export function readSteps<T extends { step: number }>(dir: string): T[] {
  return fs.readFileSync(path.join(dir, 'steps.jsonl'), 'utf8').trim().split('\n').map((line) => JSON.parse(line) as T).sort((a, b) => a.step - b.step);
}

/** Starts `joule <args>` (a training run writing to `runDir`), waits until steps.jsonl has lines, then sends SIGTERM and waits for the exit. */
export async function trainThenTerminate(args: string[], runDir: string, env: NodeJS.ProcessEnv, timeoutMs = 90_000): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(process.execPath, [jouleBin, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk) => (stderr += chunk));
  const closed = new Promise<number | null>((resolve) => child.on('close', resolve));
  const stepsFile = path.join(runDir, 'steps.jsonl');
  const deadline = Date.now() + timeoutMs;
  while (!(fs.existsSync(stepsFile) && fs.statSync(stepsFile).size > 0)) {
    if (Date.now() >= deadline) child.kill('SIGKILL');
    assert.ok(Date.now() < deadline, `training never started: ${stderr}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  child.kill('SIGTERM');
  return { code: await closed, stderr };
}
