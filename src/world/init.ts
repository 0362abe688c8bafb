// joule.init(): resolve the identity, host the coordinator when this rank must, join, and return the World.
import path from 'node:path';
import { CoordClient } from '../coord/client';
import { nodeFacingAddress, resolveHost } from '../coord/address';
import { failureExitCode, failureStatus } from '../coord/failure';
import type { Coordinator } from '../coord/server';
import type { RunJournal } from '../report/journal';
import { readEnv } from '../env';
import { bindRank } from './cpu';
import { rankEnvironment, type RankEnvironment } from './identity';
import { RankWorld } from './runtime';
import { attachPower } from '../power/world';

let current: Promise<RankWorld> | undefined;

/** Joins the job and resolves once every rank has joined. Calling it again returns the same world. */
export function init(): Promise<RankWorld> {
  current ??= start();
  return current;
}

async function start(): Promise<RankWorld> {
  const identity = rankEnvironment();
  const cpu = bindRank(identity.localRank, identity.localSize);
  // The launcher already set CUDA_VISIBLE_DEVICES for its children; here the srun and singleton cases.
  if (identity.gpu.cudaVisibleDevices !== undefined) process.env.CUDA_VISIBLE_DEVICES = identity.gpu.cudaVisibleDevices;
  const hosted = identity.hostsCoordinator ? await hostCoordinator(identity) : undefined;
  const dialHost = hosted ? hosted.dialHost : await resolveHost(identity.coordHost);
  const client = new CoordClient({
    endpoint: `tcp://${dialHost}:${hosted ? hosted.port : identity.coordPort}`,
    secret: identity.secret,
    secure: identity.secure,
    rank: identity.rank,
    size: identity.size,
    host: identity.host,
    caps: {
      localRank: identity.localRank,
      nodeRank: identity.nodeRank,
      gpus: identity.gpu.gpus,
      gpuBinding: identity.gpu.rule,
      cudaVisibleDevices: identity.gpu.cudaVisibleDevices ?? null,
      cpus: cpu.cpus,
      cpuBinding: cpu.rule,
      cpuBindingReason: cpu.reason,
      startMode: identity.mode,
      node: process.version,
    },
    heartbeatMs: identity.heartbeatMs,
    heartbeatMisses: identity.heartbeatMisses,
    // A little past the coordinator's own timeout, whose message (naming the missing ranks) is better.
    joinTimeoutMs: identity.joinTimeoutMs > 0 ? identity.joinTimeoutMs + 10_000 : 0,
    warn: (message) => process.stderr.write(`joule: ${message}\n`),
  });
  try {
    const welcome = await client.join();
    const world = new RankWorld({
      identity,
      cpu,
      client,
      runId: welcome.runId,
      runDir: welcome.runDir,
      peers: welcome.peers,
      hosted: hosted && { coordinator: hosted.coordinator, journal: hosted.journal },
    });
    // Every run measures its energy unless told not to; the monitor streams into the run directory.
    if (readEnv('JOULE_POWER') === 'on') await attachPower(world);
    return world;
  } catch (error) {
    await client.close();
    if (hosted) await hosted.coordinator.close();
    current = undefined;
    throw error;
  }
}

interface Hosted {
  coordinator: Coordinator;
  journal?: RunJournal;
  dialHost: string;
  port: number;
}

/** Bare srun rank 0 (or a singleton): run the coordinator in this process, and the run record with it. */
async function hostCoordinator(identity: RankEnvironment): Promise<Hosted> {
  const bindHost = identity.mode === 'singleton' ? '127.0.0.1' : await nodeFacingAddress(identity.iface, identity.coordHost);
  const runDir = identity.runDir ? path.resolve(identity.runDir) : '';
  // Loaded here: a launched rank never hosts, and the coordinator and the journal cost its start about 17 ms of CPU.
  // require, not import(): under `--require tsx/cjs` (the tests' ranks) a dynamic import skips the TypeScript hook.
  const { hostRun } = require('./host') as typeof import('./host');
  const { coordinator, journal, port, announce } = await hostRun({
    runId: identity.runId,
    runDir,
    name: path.basename(runDir),
    command: process.argv.slice(1),
    profile: null,
    config: {
      size: identity.size,
      secure: identity.secure,
      iface: identity.iface ?? null,
      heartbeatS: identity.heartbeatMs / 1000,
      heartbeatMisses: identity.heartbeatMisses,
      joinTimeoutS: identity.joinTimeoutMs / 1000,
      abortGraceS: null,
      pretendNodes: 1,
    },
    launcher: { mode: identity.mode, host: identity.host, pid: process.pid, jobId: identity.jobId ?? null, stepId: identity.stepId ?? null },
    secret: identity.secret,
    bindHost,
    port: identity.coordPort,
    print: (line, stream) => process[stream].write(`${line}\n`),
  });
  announce(`tcp://${bindHost}:${port}`);
  // No launcher watches this run: the first failure ends its record here.
  if (journal) coordinator.onFailure((failure) => void journal.finish(failureStatus(failure), failureExitCode(failure)));
  return { coordinator, journal, dialHost: bindHost === '0.0.0.0' ? '127.0.0.1' : bindHost, port };
}
