// Rendezvous: picks a communicator's backend and connects its members through the world's key-value.
import { dialableAddress, interfaceAddress } from '../coord/address';
import { readEnv } from '../env';
import { JouleError } from '../errors';
import { native, type NativeAddon, type NativeComm } from '../native';
import { kindCode, dtypeCode } from './native-types';
import type { BackendName, CommWorld, CommunicatorOptions } from './types';

// Loaded when a communicator connects, not by every rank at start-up.
const crypto = () => require('node:crypto') as typeof import('node:crypto');

export interface Member {
  worldRank: number;
  nodeRank: number;
}

let autoReported = false;

let capabilities: ReturnType<NativeAddon['capabilities']> | undefined;

/** Why the nccl backend cannot run here, or undefined when it can. */
async function ncclUnusable(world: CommWorld): Promise<string | undefined> {
  if (world.gpus.length === 0) return 'no GPU is assigned to this rank';
  // Probed once per process: loading NVML, NCCL and the CUDA module can take seconds on a GPU node.
  capabilities ??= native().capabilities();
  const caps = await capabilities;
  if (!caps.nccl.usable) return `NCCL is unusable: ${caps.nccl.reason}`;
  if (!caps.cuda.usable) return `the CUDA module is unusable: ${caps.cuda.reason}`;
  return undefined;
}

/** The backend `requested` resolves to for these members, or a JOULE_BACKEND_UNAVAILABLE error. */
async function chooseBackend(requested: BackendName, members: readonly Member[], world: CommWorld): Promise<{ backend: 'shm' | 'tcp' | 'nccl'; why: string }> {
  const nodes = new Set(members.map((m) => m.nodeRank)).size;
  if (requested === 'nccl' || requested === 'auto') {
    const why = await ncclUnusable(world);
    if (requested === 'nccl') {
      if (why) throw new JouleError('JOULE_BACKEND_UNAVAILABLE', `backend nccl: ${why}`);
      return { backend: 'nccl', why: 'requested' };
    }
    if (!why) return { backend: 'nccl', why: `GPU ${world.gpus[0]} and NCCL are present` };
  }
  if (requested === 'tcp') return { backend: 'tcp', why: 'requested' };
  if (nodes > 1) {
    if (requested === 'shm') {
      throw new JouleError('JOULE_BACKEND_UNAVAILABLE', `backend shm: the ranks span ${nodes} nodes; shared memory reaches only ranks on one node (use tcp or auto)`);
    }
    const shared = nodes < members.length;
    return {
      backend: 'tcp',
      why: `the ranks span ${nodes} nodes and no GPU backend is usable${requested === 'auto' && shared ? '; allreduce, reduce and broadcast go shm inside nodes, tcp between them' : ''}`,
    };
  }
  return { backend: 'shm', why: requested === 'auto' ? `all ${members.length} ranks share one node and no GPU backend is usable` : 'requested' };
}

// Segment names must be unique on the node and say which job made them (for clean-up by hand).
function segmentName(world: CommWorld, id: string): string {
  const job = crypto().createHash('sha256').update(world.runDir).digest('hex').slice(0, 12);
  const safeId = id.replace(/[^A-Za-z0-9.]/g, '_');
  return `/joule.${job}.${safeId}.${crypto().randomBytes(6).toString('hex')}`;
}

export async function connectBackend(
  world: CommWorld,
  id: string,
  members: readonly Member[],
  rank: number,
  options: CommunicatorOptions & { backend: BackendName; timeoutS: number },
): Promise<{ handle: NativeComm; backend: string }> {
  const { backend, why } = await chooseBackend(options.backend, members, world);
  if (options.backend === 'auto' && !autoReported && world.rank === 0) {
    autoReported = true;
    process.stderr.write(`joule: collectives use the ${backend} backend (${why})\n`);
  }
  const handle =
    backend === 'nccl' ? await connectNccl(world, id, members, rank, options) : backend === 'tcp' ? await connectTcp(world, id, members, rank, options) : await connectShm(world, id, members, rank, options);
  return { handle, backend };
}

async function connectNccl(world: CommWorld, id: string, members: readonly Member[], rank: number, options: { timeoutS: number }): Promise<NativeComm> {
  // Rank 0's unique id reaches the others through the coordinator's key-value (authenticated by the job secret).
  const key = `comm/${id}/nccl-id`;
  let uniqueId: string;
  if (rank === 0) {
    uniqueId = native().ncclUniqueId();
    await world.kv.set(key, uniqueId);
  } else {
    uniqueId = await world.kv.wait(key, options.timeoutS * 1000);
  }
  const handle = new (native().NativeComm)({ backend: 'nccl', rank, size: members.length, device: world.gpus[0], uniqueId });
  // ncclCommInitRank runs inside this first operation, on the communicator's thread.
  await handle.submit(barrierSpec(options.timeoutS));
  return handle;
}

async function connectTcp(world: CommWorld, id: string, members: readonly Member[], rank: number, options: { timeoutS: number }): Promise<NativeComm> {
  // The token keeps strangers off the data sockets: only job members can read it from the key-value.
  const tokenKey = `comm/${id}/tcp-token`;
  let token: string;
  if (rank === 0) {
    token = crypto().randomBytes(16).toString('hex');
    await world.kv.set(tokenKey, token);
  } else {
    token = await world.kv.wait(tokenKey, options.timeoutS * 1000);
  }
  const handle = new (native().NativeComm)({
    backend: 'tcp',
    rank,
    size: members.length,
    token,
    pieceBytes: readEnv('JOULE_TCP_PIECE_BYTES'),
    smallBytes: readEnv('JOULE_TCP_SMALL_BYTES'),
    halvingBytes: readEnv('JOULE_TCP_HALVING_BYTES'),
  });
  // Loopback within a node; across nodes the address JOULE_IFACE names, else the one this node's name
  // resolves to, else the first external IPv4 address (the socket listens on every interface).
  const oneNode = members.every((m) => m.nodeRank === members[0].nodeRank);
  const iface = readEnv('JOULE_IFACE');
  const address = oneNode ? '127.0.0.1' : iface ? interfaceAddress(iface) : await dialableAddress('0.0.0.0', world.host);
  await world.kv.set(`comm/${id}/tcp/${rank}`, `${address} ${handle.port()}`);
  const addresses = await Promise.all(members.map((_, r) => world.kv.wait(`comm/${id}/tcp/${r}`, options.timeoutS * 1000)));
  handle.setPeers(
    addresses.map((a) => a.split(' ')[0]),
    addresses.map((a) => Number(a.split(' ')[1])),
  );
  await handle.submit(barrierSpec(options.timeoutS));
  return handle;
}

const barrierSpec = (timeoutS: number) => ({ kind: kindCode.barrier, dtype: dtypeCode.f32, redop: 0, wire: 0, count: 0, root: 0, tag: 0, timeoutS });

async function connectShm(world: CommWorld, id: string, members: readonly Member[], rank: number, options: CommunicatorOptions & { timeoutS: number }): Promise<NativeComm> {
  const key = `comm/${id}/shm`;
  const config = {
    backend: 'shm' as const,
    rank,
    size: members.length,
    name: '',
    create: rank === 0,
    chunkBytes: options.shmChunkBytes ?? readEnv('JOULE_SHM_CHUNK_BYTES'),
    smallBytes: options.shmSmallBytes ?? readEnv('JOULE_SHM_SMALL_BYTES'),
    p2pBytes: 256 * 1024,
  };
  let handle: NativeComm;
  if (rank === 0) {
    config.name = segmentName(world, id);
    try {
      handle = new (native().NativeComm)(config);
    } catch (error) {
      // Tell the other members, so they fail now rather than at their timeout.
      await world.kv.set(key, `error:${(error as Error).message}`);
      throw error;
    }
    await world.kv.set(key, config.name);
  } else {
    const value = await world.kv.wait(key, options.timeoutS * 1000);
    if (value.startsWith('error:')) {
      throw new JouleError('JOULE_BACKEND_UNAVAILABLE', `communicator ${id}: rank 0 could not set up shm: ${value.slice(6)}`);
    }
    config.name = value;
    handle = new (native().NativeComm)(config);
  }
  // Once every member has mapped the segment, its name can go: nothing is left behind after a crash.
  await handle.submit(barrierSpec(options.timeoutS));
  if (rank === 0) handle.unlink();
  return handle;
}
