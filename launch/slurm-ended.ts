// Did SLURM itself end this job (scancel, time limit, preemption)? Then a run whose ranks died of SIGTERM was terminated, not failed.
import { execFile } from 'node:child_process';

/** Job states in which SLURM signals every step at once, the batch step (the launcher) included. */
const endedBySlurm = new Set(['CANCELLED', 'TIMEOUT', 'PREEMPTED', 'DEADLINE']);

/**
 * The job's state when SLURM is ending it, else null. SLURM sets the state before it signals the steps,
 * so when ranks die of SIGTERM before the launcher's own SIGTERM arrives (the order is SLURM's), the
 * state already says why.
 */
export function slurmEndingState(jobId: string | undefined): Promise<string | null> {
  if (!jobId) return Promise.resolve(null);
  return new Promise((resolve) => {
    execFile('scontrol', ['show', 'job', '-o', jobId], { timeout: 5000 }, (error, stdout) => {
      const state = /\bJobState=(\S+)/.exec(stdout)?.[1];
      resolve(!error && state && endedBySlurm.has(state) ? state : null);
    });
  });
}
