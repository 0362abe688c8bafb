// Starts a node's power sampler for the launcher (local runs) or the node's first srun-side supervisor, so
// any command's energy is measured; a sampler that cannot start costs a warning, never the job.
import type { NodeSampler } from '../src/power/node-sampler';
import type { PowerSink } from '../src/power/monitor';
import type { EnergyProfile } from '../src/power/profile';

export interface NodePowerOptions {
  host: string;
  /** The node's first rank, under which the records are filed. */
  rank: number;
  gpus: number[];
  profile?: EnergyProfile;
  sink: PowerSink;
  warn(message: string): void;
}

export async function startNodePower(options: NodePowerOptions): Promise<NodeSampler | undefined> {
  try {
    // Loaded here, after the ranks are started: the addon and the monitor are not on the start path.
    const { NodeSampler } = await import('../src/power/node-sampler');
    return await NodeSampler.start({ host: options.host, rank: options.rank, gpus: options.gpus, profile: options.profile, sink: options.sink });
  } catch (error) {
    options.warn(`the node's power sampler did not start (${(error as Error).message}): energy comes only from ranks that measure themselves`);
    return undefined;
  }
}
