// Who this rank is and where its coordinator is, from the launcher's JOULE_* variables or SLURM's own.
import os from 'node:os';
import { derivedPort } from '../coord/address';
import { newJobSecret, checkJobSecret } from '../coord/security';
import { JouleError } from '../errors';
import { readEnv } from '../env';
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

/**
 * An srun task: SLURM gave this process a place in a job step. A batch script has SLURM_PROCID and
 * SLURM_NTASKS too (checked on the test cluster) but no step id: it is where ranks are started from.
 */
export function isSrunTask(env: NodeJS.ProcessEnv = process.env): boolean {
  return env.SLURM_PROCID !== undefined && /^\d+$/.test(env.SLURM_STEP_ID ?? '');
}

/** Whether this process is a rank of a job (started by `joule launch`, or an srun task) rather than one that may start ranks. */
export function runningAsRank(env: NodeJS.ProcessEnv = process.env): boolean {
  return readEnv('JOULE_LAUNCHER', env) !== undefined || isSrunTask(env);
}

/** A variable the launcher must have set (its absence means a broken start, not a default). */
function required(name: 'JOULE_RANK' | 'JOULE_SIZE', env: NodeJS.ProcessEnv): number {
  const value: number | undefined = readEnv(name, env);
  if (value === undefined) throw new JouleError('JOULE_BAD_ARGUMENT', `${name} is not set`);
  return value;
}

/** A SLURM task variable as a non-negative integer (SLURM's own, so not in joule's registry). */
function slurmInt(env: NodeJS.ProcessEnv, name: string, fallback?: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') {
    if (fallback === undefined) throw new JouleError('JOULE_BAD_ARGUMENT', `${name} is not set`);
    return fallback;
  }
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0) throw new JouleError('JOULE_BAD_ARGUMENT', `${name}="${raw}" is not a non-negative integer`);
  return value;
}

function timing(env: NodeJS.ProcessEnv) {
  return {
    heartbeatMs: Math.round(readEnv('JOULE_HEARTBEAT_S', env) * 1000),
    heartbeatMisses: readEnv('JOULE_HEARTBEAT_MISSES', env),
    joinTimeoutMs: Math.round(readEnv('JOULE_JOIN_TIMEOUT_S', env) * 1000),
    barrierTimeoutMs: Math.round(readEnv('JOULE_BARRIER_TIMEOUT_S', env) * 1000),
  };
}

function coordinatorOf(env: NodeJS.ProcessEnv): { coordHost: string; coordPort: number } | undefined {
  const endpoint = readEnv('JOULE_COORD', env);
  return endpoint && { coordHost: endpoint.host, coordPort: endpoint.port };
}

/** Resolves the rank's identity; `env` is process.env in real runs. */
export function rankEnvironment(env: NodeJS.ProcessEnv = process.env): RankEnvironment {
  const common = { ...timing(env), secure: readEnv('JOULE_SECURE', env), iface: readEnv('JOULE_IFACE', env) };
  const launcher = readEnv('JOULE_LAUNCHER', env);
  const secret = readEnv('JOULE_JOB_SECRET', env);
  const host = readEnv('JOULE_HOST', env);
  const runDir = readEnv('JOULE_RUN_DIR', env) ?? '';
  const runId = readEnv('JOULE_RUN_ID', env);
  const underSlurm = isSrunTask(env);

  if (launcher === 'local') {
    const rank = required('JOULE_RANK', env);
    const size = required('JOULE_SIZE', env);
    // Without node placement the ranks share one node.
    const localRank = readEnv('JOULE_LOCAL_RANK', env) ?? rank;
    const localSize = readEnv('JOULE_LOCAL_SIZE', env) ?? size;
    const coord = coordinatorOf(env);
    if (!coord) throw new JouleError('JOULE_BAD_ARGUMENT', 'JOULE_LAUNCHER=local but JOULE_COORD is not set');
    return {
      mode: 'local',
      rank,
      size,
      localRank,
      localSize,
      nodeRank: readEnv('JOULE_NODE_RANK', env),
      nodes: readEnv('JOULE_NODES', env),
      host: host || os.hostname(),
      gpu: chooseGpuBinding(localRank, localSize, false, env),
      secret: checkJobSecret(secret, `rank ${rank}`),
      ...coord,
      hostsCoordinator: false,
      runDir,
      runId: runId ?? '',
      ...common,
    };
  }

  if (underSlurm) {
    const rank = slurmInt(env, 'SLURM_PROCID');
    const size = slurmInt(env, 'SLURM_NTASKS');
    const nodeRank = slurmInt(env, 'SLURM_NODEID', 0);
    const localRank = slurmInt(env, 'SLURM_LOCALID', 0);
    const perNode = parseTasksPerNode(env.SLURM_STEP_TASKS_PER_NODE ?? env.SLURM_TASKS_PER_NODE ?? String(size));
    const nodes = slurmInt(env, 'SLURM_STEP_NUM_NODES', slurmInt(env, 'SLURM_NNODES', perNode.length));
    const jobId = env.SLURM_JOB_ID ?? '0';
    const stepId = env.SLURM_STEP_ID ?? '0';
    const byLauncher = launcher === 'srun';
    let coord = coordinatorOf(env);
    if (coord) {
      // given explicitly (the launcher's, or an override of the derived address)
    } else if (byLauncher) throw new JouleError('JOULE_BAD_ARGUMENT', 'JOULE_LAUNCHER=srun but JOULE_COORD is not set');
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
      host: host || env.SLURMD_NODENAME || os.hostname(),
      gpu: chooseGpuBinding(localRank, perNode[nodeRank] ?? 1, true, env),
      secret: checkJobSecret(secret, `rank ${rank} (SLURM job ${jobId}.${stepId})`),
      ...coord,
      hostsCoordinator: !byLauncher && rank === 0,
      runDir,
      runId: runId ?? `slurm-${jobId}.${stepId}`,
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
    host: host || os.hostname(),
    gpu: chooseGpuBinding(0, 1, false, env),
    secret: secret ? checkJobSecret(secret, 'singleton') : newJobSecret(),
    coordHost: '127.0.0.1',
    coordPort: 0,
    hostsCoordinator: true,
    runDir,
    runId: runId ?? `singleton-${process.pid}`,
    ...common,
  };
}
