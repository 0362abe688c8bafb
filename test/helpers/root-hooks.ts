// Mocha root hooks: the pinned test environment, and resources shared by the whole run (the private SLURM cluster) released after it.
import { pinProcessEnv } from './env';
import { stopSharedSlurmCluster } from './slurm-cluster';

// Before any test file loads: tests see the pinned environment, never this machine's hardware.
pinProcessEnv();

export const mochaHooks = {
  async afterAll(this: Mocha.Context) {
    this.timeout(15_000);
    await stopSharedSlurmCluster();
  },
};
