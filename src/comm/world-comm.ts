// The job-wide communicator a rank runtime offers as `world.comm`: every rank, nodes told apart by host,
// backend and timeout from JOULE_COMM_BACKEND / JOULE_COMM_TIMEOUT_S.
import { JouleError } from '../errors';
import { Communicator } from './communicator';
import type { BackendName, CommWorld } from './types';

const backends: BackendName[] = ['auto', 'shm', 'tcp', 'nccl'];

export function worldCommunicator(world: CommWorld & { peers: readonly { rank: number; host: string }[] }, env: NodeJS.ProcessEnv = process.env): Communicator {
  const backend = (env.JOULE_COMM_BACKEND || 'auto') as BackendName;
  if (!backends.includes(backend)) {
    throw new JouleError('JOULE_BAD_ARGUMENT', `JOULE_COMM_BACKEND must be one of ${backends.join(', ')}, got "${backend}"`);
  }
  const timeoutS = env.JOULE_COMM_TIMEOUT_S ? Number(env.JOULE_COMM_TIMEOUT_S) : 300;
  const peers = [...world.peers].sort((a, b) => a.rank - b.rank);
  const hosts = [...new Set(peers.map((p) => p.host))];
  const members = peers.map((p) => ({ worldRank: p.rank, nodeRank: hosts.indexOf(p.host) }));
  return new Communicator(world, 'world', members, { backend, timeoutS });
}
