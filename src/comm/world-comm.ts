// The job-wide communicator a rank runtime offers as `world.comm`: every rank, on the node each was given,
// backend and timeout from JOULE_COMM_BACKEND / JOULE_COMM_TIMEOUT_S.
import { readEnv } from '../env';
import { Communicator } from './communicator';
import type { BackendName, CommWorld } from './types';
import type { PeerInfo } from '../coord/protocol';

/** Every rank as a communicator member, by rank, on the node the launcher or SLURM gave it. */
export function worldMembers(peers: readonly PeerInfo[]): { worldRank: number; nodeRank: number }[] {
  return [...peers].sort((a, b) => a.rank - b.rank).map((p) => ({ worldRank: p.rank, nodeRank: p.nodeRank }));
}

export function worldCommunicator(world: CommWorld & { peers: readonly PeerInfo[] }, env: NodeJS.ProcessEnv = process.env): Communicator {
  const backend: BackendName = readEnv('JOULE_COMM_BACKEND', env);
  return new Communicator(world, 'world', worldMembers(world.peers), { backend, timeoutS: readEnv('JOULE_COMM_TIMEOUT_S', env) });
}
