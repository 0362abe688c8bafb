// Did SLURM itself end this job (scancel, time limit, preemption)? Then a run whose ranks died of SIGTERM was terminated, not failed.
import { execFile } from 'node:child_process';

/** Job states in which SLURM signals every step at once, the batch step (the launcher) included. */
const endedBySlurm = new Set(['CANCELLED', 'TIMEOUT', 'PREEMPTED', 'DEADLINE']);

/**
 * The job's state when SLURM is ending it, else null. SLURM sets the state before it signals the steps,
 * so when ranks die of SIGTERM before the launcher's own SIGTERM arrives (the order is SLURM's), the
 * state already says why.
 */
export async function slurmEndingState(jobId: string | undefined): Promise<string | null> {
  if (!jobId) return null;
  // A slurmctld busy with the job's own teardown can be slow to answer: ask twice before concluding.
  for (let attempt = 0; attempt < 2; attempt++) {
    const answer = await jobState(jobId);
    if (answer.answered) return answer.state && endedBySlurm.has(answer.state) ? answer.state : null;
  }
  return null;
}

function jobState(jobId: string): Promise<{ answered: boolean; state?: string }> {
  return new Promise((resolve) => {
    execFile('scontrol', ['show', 'job', '-o', jobId], { timeout: 10_000 }, (error, stdout) => {
      resolve({ answered: !error, state: /\bJobState=(\S+)/.exec(stdout)?.[1] });
    });
  });
}
