// One wording for a failed rank, shared by the launcher's message, every aborted rank's error and run.json.
import os from 'node:os';
import type { FailureInfo } from './protocol';

function what(failure: FailureInfo): string {
  switch (failure.kind) {
    case 'exit':
      return `exited with code ${failure.exitCode}`;
    case 'signal':
      return `was killed by ${failure.signal}`;
    case 'heartbeat':
      return `stopped answering heartbeats (${failure.reason ?? 'no message in time'})`;
    case 'abort':
      return `called abort: ${failure.reason ?? 'no reason given'}`;
    case 'finalize':
      return `exited with code 0 without calling world.finalize()`;
    case 'join':
      return `never joined: ${failure.reason ?? ''}`.trimEnd();
    case 'terminated':
      return failure.reason ?? 'was terminated';
  }
}

/** e.g. `rank 1 on host n2 (pid 4242) was killed by SIGKILL; last activity: "step 3"; last barrier: "sync#0"`. */
export function describeFailure(failure: FailureInfo): string {
  if (failure.kind === 'join') {
    return `join timeout: rank(s) ${failure.missingRanks?.join(', ') ?? '?'} never joined${failure.reason ? ` (${failure.reason})` : ''}`;
  }
  if (failure.kind === 'terminated') return failure.reason ?? 'the job was terminated';
  // No rank to blame (srun itself failed): the reason names what did.
  if (failure.rank < 0) return `${failure.reason ?? 'the launcher'} ${what(failure)}`;
  const who = `rank ${failure.rank} on host ${failure.host}${failure.pid ? ` (pid ${failure.pid})` : ''}`;
  const parts = [`${who} ${what(failure)}`];
  parts.push(`last activity: ${failure.activity ? JSON.stringify(failure.activity) : 'none reported'}`);
  if (failure.lastBarrier) parts.push(`last barrier: ${JSON.stringify(failure.lastBarrier)}`);
  return parts.join('; ');
}

/** The launcher's exit code for a failure: the rank's own code, 128 + signal number for a signal, else 1. */
export function failureExitCode(failure: FailureInfo): number {
  if (failure.kind === 'exit' && failure.exitCode) return failure.exitCode;
  if (failure.kind === 'signal' && failure.signal) {
    const number = (os.constants.signals as Record<string, number>)[failure.signal];
    if (number) return 128 + number;
  }
  return 1;
}

/** Signals that mean someone stopped the job (scancel, SLURM's time limit, Ctrl-C), not that a rank broke. */
const STOP_SIGNALS = new Set(['SIGTERM', 'SIGINT', 'SIGHUP']);

/** The run's status for a failure: "terminated" when the job was stopped from outside, else "failed". */
export function failureStatus(failure: FailureInfo): 'failed' | 'terminated' {
  if (failure.kind === 'terminated') return 'terminated';
  return failure.kind === 'signal' && failure.signal !== undefined && STOP_SIGNALS.has(failure.signal) ? 'terminated' : 'failed';
}
