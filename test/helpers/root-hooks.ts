// Mocha root hooks: resources shared by the whole run (the private SLURM cluster) are released after it.
import { stopSharedSlurmCluster } from './slurm-cluster';

export const mochaHooks = {
  async afterAll(this: Mocha.Context) {
    this.timeout(15_000);
    await stopSharedSlurmCluster();
  },
};
