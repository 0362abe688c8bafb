// The launcher's question to SLURM when ranks die of SIGTERM: is SLURM ending this job (cancelled, timed out), or did a rank fail?
import assert from 'node:assert/strict';
import { slurmEndingState } from '../../launch/slurm-ended';
import { run } from '../helpers/run';
import { useSlurmCluster } from '../helpers/slurm-cluster';

describe('slurmEndingState (launcher)', function () {
  const cluster = useSlurmCluster();

  it('is null for a running job and for no job, and CANCELLED once scancel has been issued', async () => {
    const { env } = cluster();
    const submitted = await run('sbatch', ['--parsable', '-o', '/dev/null', '--wrap', 'sleep 300'], { env });
    assert.equal(submitted.code, 0, submitted.stderr);
    const jobId = submitted.stdout.trim();
    // scontrol inside slurmEndingState finds this cluster through SLURM_CONF, as it does inside a job.
    const saved = process.env.SLURM_CONF;
    process.env.SLURM_CONF = env.SLURM_CONF;
    try {
      assert.equal(await slurmEndingState(undefined), null);
      assert.equal(await slurmEndingState(jobId), null);
      assert.equal((await run('scancel', [jobId], { env })).code, 0);
      assert.equal(await slurmEndingState(jobId), 'CANCELLED');
    } finally {
      if (saved === undefined) delete process.env.SLURM_CONF;
      else process.env.SLURM_CONF = saved;
    }
  });
});
