// Power for a launched rank: one monitor per process, RAPL on local rank 0 only, records into world.stream.
import { readEnv } from '../env';
import type { World } from '../world/types';
import { nvmlIndices } from '../world/gpu';
import { PowerMonitor, type PowerMonitorOptions } from './monitor';
import { validateEnergyProfile, type EnergyProfile } from './profile';
import type { PowerWindows } from './types';

/** What a world needs to carry power: the World contract, plus attachModule where the runtime has it. */
export type PowerHost = World & { attachModule?<T extends { finalize?(): Promise<void> | void }>(name: string, module: T): T };

export interface WorldPowerOptions extends Omit<PowerMonitorOptions, 'gpus' | 'rapl' | 'sink' | 'identity'> {
  /** Measure idle power for this long before returning (all ranks wait for each other around it). */
  idleBaselineS?: number;
}

/** The energy profile the launcher hands its ranks (JOULE_ENERGY_PROFILE, JSON), or undefined. */
export function energyProfileFromEnv(env: NodeJS.ProcessEnv = process.env): EnergyProfile | undefined {
  const parsed = readEnv('JOULE_ENERGY_PROFILE', env);
  return parsed === undefined ? undefined : validateEnergyProfile(parsed as EnergyProfile);
}

/** The idle baseline the launcher asks for (`joule launch --idle-baseline 5s`), in seconds. */
export function idleBaselineFromEnv(env: NodeJS.ProcessEnv = process.env): number | undefined {
  const value = readEnv('JOULE_IDLE_BASELINE_S', env);
  return value > 0 ? value : undefined;
}

/**
 * Starts this rank's power monitor and makes it `world.power`: the rank's own GPUs, the node's RAPL
 * zones only on local rank 0 (so a node is counted once), records into the run's `power` stream; the
 * monitor stops (writing the rank's run energy) when the world finalizes.
 */
export async function attachPower<W extends PowerHost>(world: W, options: WorldPowerOptions = {}): Promise<W & { power: PowerWindows & PowerMonitor }> {
  const { idleBaselineS = idleBaselineFromEnv(), profile = energyProfileFromEnv(), ...rest } = options;
  const monitor = new PowerMonitor({
    ...rest,
    profile,
    // NVML numbers GPUs node-wide, whatever CUDA_VISIBLE_DEVICES shows this rank.
    gpus: nvmlIndices(world.gpus),
    rapl: world.localRank === 0,
    sink: (stream, record) => world.stream(stream, record),
    identity: { rank: world.rank, localRank: world.localRank, host: world.host },
  });
  await monitor.start();
  if (world.attachModule) world.attachModule('power', monitor);
  // An aborted rank never finalizes: its energy so far goes out with its last records.
  world.onAbort(() => monitor.progress());
  if (!('power' in world)) Object.defineProperty(world, 'power', { value: monitor, enumerable: false });
  if (idleBaselineS !== undefined) {
    // Every rank of the node must be idle at once for the node's RAPL reading to mean anything.
    await world.barrier('power-idle-baseline-start');
    await monitor.measureIdle(idleBaselineS);
    await world.barrier('power-idle-baseline-end');
  }
  return world as W & { power: PowerWindows & PowerMonitor };
}
