// The private test cluster itself: two nodes that run srun steps and batch jobs with SLURM's own layout.
import assert from 'node:assert/strict';
import { run } from '../helpers/run';
import { useSlurmCluster } from '../helpers/slurm-cluster';

describe('private SLURM cluster (test harness)', function () {
  const cluster = useSlurmCluster();

  it('has two idle nodes and runs srun -N2 -n4 with two tasks per node', async () => {
    const { env, dir } = cluster();
    const result = await run('srun', ['-N2', '-n4', 'bash', '-c', 'echo "$SLURM_PROCID $SLURM_NODEID $SLURM_LOCALID $SLURMD_NODENAME $SLURM_TASKS_PER_NODE $SLURM_STEP_NODELIST $SLURM_CONF"'], { env, cwd: dir, timeoutMs: 30_000 });
    assert.equal(result.code, 0, result.stderr);
    const lines = result.stdout.trim().split('\n').sort();
    assert.deepEqual(lines, [0, 1, 2, 3].map((rank) => `${rank} ${rank >> 1} ${rank & 1} n${(rank >> 1) + 1} 2(x2) n[1-2] ${env.SLURM_CONF}`));
  });
});
