// Where the coordinator listens and how ranks find it: loopback locally, the node-facing interface under SLURM.
import os from 'node:os';
import { JouleError } from '../errors';

/**
 * Under bare srun, rank 0 listens at a port every rank can compute from the job and step ids:
 * 20000 + (7·job + step) mod 10000, below Linux's ephemeral range so outgoing connections rarely hold it.
 */
export function derivedPort(jobId: number, stepId: number): number {
  return 20000 + ((jobId * 7 + stepId) % 10000);
}

/** The first IPv4 address of a network interface (`--iface`/JOULE_IFACE). */
export function interfaceAddress(iface: string): string {
  const addresses = os.networkInterfaces()[iface];
  const v4 = addresses?.find((a) => a.family === 'IPv4');
  if (!v4) {
    const known = Object.keys(os.networkInterfaces()).join(', ');
    throw new JouleError('JOULE_BAD_ARGUMENT', `interface "${iface}" has no IPv4 address (interfaces here: ${known})`);
  }
  return v4.address;
}

function isLocalAddress(address: string): boolean {
  return Object.values(os.networkInterfaces()).some((list) => list?.some((a) => a.address === address));
}

// child_process and dns are loaded when a name must be resolved (SLURM only), not by every rank at start-up.
function scontrolNodeAddr(host: string): Promise<string | undefined> {
  const { execFile } = require('node:child_process') as typeof import('node:child_process');
  return new Promise((resolve) => {
    execFile('scontrol', ['show', 'node', host], { timeout: 5000 }, (error, stdout) => {
      resolve(error ? undefined : /NodeAddr=(\S+)/.exec(stdout)?.[1]);
    });
  });
}

/** A host name to an IPv4 address: DNS first, then SLURM's own NodeAddr (node names need not resolve). */
export async function resolveHost(host: string): Promise<string> {
  if (/^\d+\.\d+\.\d+\.\d+$/.test(host)) return host;
  const dns = require('node:dns/promises') as typeof import('node:dns/promises');
  try {
    return (await dns.lookup(host, { family: 4 })).address;
  } catch (error) {
    const nodeAddr = await scontrolNodeAddr(host);
    if (nodeAddr) return nodeAddr === host ? nodeAddr : resolveHost(nodeAddr);
    throw new JouleError('JOULE_BAD_ARGUMENT', `cannot resolve host "${host}" (DNS: ${(error as Error).message}; scontrol knows no NodeAddr); set JOULE_COORD=tcp://ADDRESS:PORT`);
  }
}

/**
 * The address to bind for a coordinator reached from other nodes: the interface asked for, else the
 * address this node's name resolves to when it is one of ours, else every interface.
 */
export async function nodeFacingAddress(iface: string | undefined, nodeName: string): Promise<string> {
  if (iface) return interfaceAddress(iface);
  try {
    const address = await resolveHost(nodeName);
    if (isLocalAddress(address)) return address;
  } catch {
    // fall through: an unresolvable name still lets us listen everywhere
  }
  return '0.0.0.0';
}

/** The address other nodes should dial when the coordinator listens on `bound` (0.0.0.0 is not dialable). */
export async function dialableAddress(bound: string, nodeName: string): Promise<string> {
  if (bound !== '0.0.0.0') return bound;
  try {
    return await resolveHost(nodeName);
  } catch {
    const external = Object.values(os.networkInterfaces())
      .flat()
      .find((a) => a && a.family === 'IPv4' && !a.internal);
    return external?.address ?? '127.0.0.1';
  }
}
