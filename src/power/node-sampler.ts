// One power sampler per node for the whole run, whatever the ranks run (`joule launch -- python train.py`):
// the node's GPUs of the allocation and its RAPL zones, into node-power.jsonl. The run's energy uses it only
// for nodes where no rank measured itself (src/power/attribution.ts), so no joule is counted twice.
import { endedChildrenCpuTimeS } from './children-cpu';
import { PowerMonitor, type PowerSink } from './monitor';
import type { EnergyProfile } from './profile';

/** The stream node samplers write to: apart from power.jsonl, which holds what ranks measured. */
export const NODE_POWER_STREAM = 'node-power';

export interface NodeSamplerOptions {
  host: string;
  /** The node's first rank, under which its records are filed. */
  rank: number;
  /** NVML indices of the node's GPUs that belong to the job. */
  gpus: number[];
  profile?: EnergyProfile;
  /** Receives (NODE_POWER_STREAM, record). */
  sink: PowerSink;
}

export class NodeSampler {
  private constructor(
    private readonly monitor: PowerMonitor,
    private readonly sink: PowerSink,
    private readonly startCpuS: number | undefined,
  ) {}

  /** Starts sampling (resolves once every channel has a first reading). */
  static async start(options: NodeSamplerOptions): Promise<NodeSampler> {
    const sink: PowerSink = (_stream, record) => options.sink(NODE_POWER_STREAM, { ...record, sampler: 'node' });
    const monitor = new PowerMonitor({
      gpus: options.gpus,
      rapl: true,
      profile: options.profile,
      sink,
      // The timeline of a command that never measures itself (joule trace reads it when there is no power.jsonl).
      streamSamples: true,
      modelCpu: false,
      identity: { rank: options.rank, localRank: 0, host: options.host },
    });
    await monitor.start();
    return new NodeSampler(monitor, sink, endedChildrenCpuTimeS());
  }

  /**
   * Ends the run window (a power-run record) after the ranks this process started have ended; with
   * `childrenCpu`, the record carries their CPU seconds, the input of the CPU model on nodes without RAPL.
   */
  async stop(childrenCpu: boolean): Promise<void> {
    await this.monitor.stop();
    const endCpuS = endedChildrenCpuTimeS();
    if (childrenCpu && this.startCpuS !== undefined && endCpuS !== undefined) this.sink(NODE_POWER_STREAM, { type: 'node-ranks-cpu', ranksCpuTimeS: endCpuS - this.startCpuS });
  }
}
