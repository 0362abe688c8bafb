// Test helpers: run the joule CLI or any command and collect its output; find the build's fake libraries.
import { spawn, type SpawnOptions } from 'node:child_process';
import path from 'node:path';
import { packageRoot } from '../../src/paths';

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export function run(command: string, args: string[], options: SpawnOptions & { timeoutMs?: number } = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], ...options });
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (chunk) => (stdout += chunk));
    child.stderr?.on('data', (chunk) => (stderr += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

export const jouleBin = path.join(packageRoot, 'bin', 'joule.js');

/** Runs `joule ARGS` with extra environment variables (the rest of the environment is inherited). */
export function joule(args: string[], env: NodeJS.ProcessEnv = {}, options: SpawnOptions & { timeoutMs?: number } = {}): Promise<RunResult> {
  return run(process.execPath, [jouleBin, ...args], { ...options, env: { ...process.env, ...env } });
}

export const fakesDir = path.join(packageRoot, 'build', 'test-fakes');
export const fakeNvml = path.join(fakesDir, 'libnvidia-ml.so.1');
export const fakeNvmlMissingSymbol = path.join(fakesDir, 'missing-symbol', 'libnvidia-ml.so.1');
export const fakeNccl = path.join(fakesDir, 'libnccl.so.2');
