// Who this rank is and where its coordinator is, from the launcher's JOULE_* variables or SLURM's own.
import os from 'node:os';
import { derivedPort } from '../coord/address';
import { newJobSecret, checkJobSecret, SECRET_ENV } from '../coord/security';
import { JouleError } from '../errors';
import { DEFAULT_BARRIER_TIMEOUT_S, DEFAULT_HEARTBEAT_MISSES, DEFAULT_HEARTBEAT_MS, DEFAULT_JOIN_TIMEOUT_S } from './defaults';
import { chooseGpuBinding, type GpuBinding } from './gpu';
import { expandHostlist, parseTasksPerNode } from '../slurm/hostlist';
import type { Identity } from './types';

/**
 * local: started by `joule launch` on this host; launcher-srun: by `joule launch` inside an allocation
 * (srun gives the identity, the launcher hosts the coordinator); srun: by bare srun (rank 0 hosts it);
 * singleton: a script run on its own (a world of one).
 */
export type StartMode = 'local' | 'launcher-srun' | 'srun' | 'singleton';

export interface RankEnvironment extends Pick<Identity, 'rank' | 'size' | 'localRank' | 'localSize' | 'nodeRank' | 'nodes' | 'host'> {
  mode: StartMode;
  gpu: GpuBinding;
  secret: string;
  secure: boolean;
  /** The coordinator to dial; for a hosting rank, where it will listen. */
  coordHost: string;
  coordPort: number;
  /** True for rank 0 under bare srun and for a singleton: the coordinator runs inside this process. */
  hostsCoordinator: boolean;
  runDir: string;
  runId: string;
  heartbeatMs: number;
  heartbeatMisses: number;
  joinTimeoutMs: number;
  barrierTimeoutMs: number;
  iface?: string;
  jobId?: string;
  stepId?: string;
}


function intEnv(env: NodeJS.ProcessEnv, name: string, fallback?: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') {
    if (fallback === undefined) throw new JouleError('JOULE_BAD_ARGUMENT', `${name} is not set`);
    return fallback;
  }
  const value = Number(raw);
  if (!Number.isFinite(value) || value < 0) throw new JouleError('JOULE_BAD_ARGUMENT', `${name}="${raw}" is not a non-negative number`);
  return value;
}

function timing(env: NodeJS.ProcessEnv) {
  return {
    heartbeatMs: Math.max(50, Math.round(intEnv(env, 'JOULE_HEARTBEAT_S', DEFAULT_HEARTBEAT_MS / 1000) * 1000)),
    heartbeatMisses: Math.max(1, intEnv(env, 'JOULE_HEARTBEAT_MISSES', DEFAULT_HEARTBEAT_MISSES)),
    joinTimeoutMs: Math.round(intEnv(env, 'JOULE_JOIN_TIMEOUT_S', DEFAULT_JOIN_TIMEOUT_S) * 1000),
    barrierTimeoutMs: Math.round(intEnv(env, 'JOULE_BARRIER_TIMEOUT_S', DEFAULT_BARRIER_TIMEOUT_S) * 1000),
  };
}

function splitEndpoint(endpoint: string): { coordHost: string; coordPort: number } {
  const match = /^tcp:\/\/([^:]+):(\d+)$/.exec(endpoint);
  if (!match) throw new JouleError('JOULE_BAD_ARGUMENT', `JOULE_COORD must look like tcp://HOST:PORT, got "${endpoint}"`);
  return { coordHost: match[1], coordPort: Number(match[2]) };
}

/** Resolves the rank's identity; `env` is process.env in real runs. */
export function rankEnvironment(env: NodeJS.ProcessEnv = process.env): RankEnvironment {
  const common = { ...timing(env), secure: env.JOULE_SECURE === '1', iface: env.JOULE_IFACE || undefined };
  const launcher = env.JOULE_LAUNCHER;
  const underSlurm = env.SLURM_PROCID !== undefined && env.SLURM_NTASKS !== undefined;

  if (launcher === 'local') {
    const rank = intEnv(env, 'JOULE_RANK');
    const localRank = intEnv(env, 'JOULE_LOCAL_RANK', rank);
    const localSize = intEnv(env, 'JOULE_LOCAL_SIZE', intEnv(env, 'JOULE_SIZE'));
    return {
      mode: 'local',
      rank,
      size: intEnv(env, 'JOULE_SIZE'),
      localRank,
      localSize,
      nodeRank: intEnv(env, 'JOULE_NODE_RANK', 0),
      nodes: intEnv(env, 'JOULE_NODES', 1),
      host: env.JOULE_HOST || os.hostname(),
      gpu: chooseGpuBinding(localRank, localSize, false, env),
      secret: checkJobSecret(env[SECRET_ENV], `rank ${rank}`),
      ...splitEndpoint(env.JOULE_COORD ?? ''),
      hostsCoordinator: false,
      runDir: env.JOULE_RUN_DIR ?? '',
      runId: env.JOULE_RUN_ID ?? '',
      ...common,
    };
  }

  if (underSlurm) {
    const rank = intEnv(env, 'SLURM_PROCID');
    const size = intEnv(env, 'SLURM_NTASKS');
    const nodeRank = intEnv(env, 'SLURM_NODEID', 0);
    const localRank = intEnv(env, 'SLURM_LOCALID', 0);
    const perNode = parseTasksPerNode(env.SLURM_STEP_TASKS_PER_NODE ?? env.SLURM_TASKS_PER_NODE ?? String(size));
    const nodes = intEnv(env, 'SLURM_STEP_NUM_NODES', intEnv(env, 'SLURM_NNODES', perNode.length));
    const jobId = env.SLURM_JOB_ID ?? '0';
    const stepId = env.SLURM_STEP_ID ?? '0';
    const byLauncher = launcher === 'srun';
    let coord: { coordHost: string; coordPort: number };
    if (env.JOULE_COORD) coord = splitEndpoint(env.JOULE_COORD);
    else if (byLauncher) throw new JouleError('JOULE_BAD_ARGUMENT', 'JOULE_LAUNCHER=srun but JOULE_COORD is not set');
    else {
      const nodelist = env.SLURM_STEP_NODELIST ?? env.SLURM_JOB_NODELIST ?? env.SLURMD_NODENAME ?? os.hostname();
      coord = { coordHost: expandHostlist(nodelist)[0], coordPort: derivedPort(Number(jobId) || 0, Number(stepId) || 0) };
    }
    return {
      mode: byLauncher ? 'launcher-srun' : 'srun',
      rank,
      size,
      localRank,
      localSize: perNode[nodeRank] ?? 1,
      nodeRank,
      nodes,
      host: env.JOULE_HOST || env.SLURMD_NODENAME || os.hostname(),
      gpu: chooseGpuBinding(localRank, perNode[nodeRank] ?? 1, true, env),
      secret: checkJobSecret(env[SECRET_ENV], `rank ${rank} (SLURM job ${jobId}.${stepId})`),
      ...coord,
      hostsCoordinator: !byLauncher && rank === 0,
      runDir: env.JOULE_RUN_DIR ?? '',
      runId: env.JOULE_RUN_ID ?? `slurm-${jobId}.${stepId}`,
      jobId,
      stepId,
      ...common,
    };
  }

  // A script started on its own: a world of one that hosts its own coordinator on loopback.
  return {
    mode: 'singleton',
    rank: 0,
    size: 1,
    localRank: 0,
    localSize: 1,
    nodeRank: 0,
    nodes: 1,
    host: env.JOULE_HOST || os.hostname(),
    gpu: chooseGpuBinding(0, 1, false, env),
    secret: env[SECRET_ENV] ? checkJobSecret(env[SECRET_ENV], 'singleton') : newJobSecret(),
    coordHost: '127.0.0.1',
    coordPort: 0,
    hostsCoordinator: true,
    runDir: env.JOULE_RUN_DIR ?? '',
    runId: env.JOULE_RUN_ID ?? `singleton-${process.pid}`,
    ...common,
  };
}
