// The job-wide communicator a rank runtime offers as `world.comm`: every rank, on the node each was given,
// backend and timeout from JOULE_COMM_BACKEND / JOULE_COMM_TIMEOUT_S.
import { JouleError } from '../errors';
import { Communicator } from './communicator';
import type { BackendName, CommWorld } from './types';
import type { PeerInfo } from '../coord/protocol';

const backends: BackendName[] = ['auto', 'shm', 'tcp', 'nccl'];

/** Every rank as a communicator member, by rank, on the node the launcher or SLURM gave it. */
export function worldMembers(peers: readonly PeerInfo[]): { worldRank: number; nodeRank: number }[] {
  return [...peers].sort((a, b) => a.rank - b.rank).map((p) => ({ worldRank: p.rank, nodeRank: p.nodeRank }));
}

export function worldCommunicator(world: CommWorld & { peers: readonly PeerInfo[] }, env: NodeJS.ProcessEnv = process.env): Communicator {
  const backend = (env.JOULE_COMM_BACKEND || 'auto') as BackendName;
  if (!backends.includes(backend)) {
    throw new JouleError('JOULE_BAD_ARGUMENT', `JOULE_COMM_BACKEND must be one of ${backends.join(', ')}, got "${backend}"`);
  }
  const timeoutS = env.JOULE_COMM_TIMEOUT_S ? Number(env.JOULE_COMM_TIMEOUT_S) : 300;
  return new Communicator(world, 'world', worldMembers(world.peers), { backend, timeoutS });
}
