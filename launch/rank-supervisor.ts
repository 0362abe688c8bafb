// Runs one rank under srun and tells the coordinator how it ended (exit code or signal, its last activity,
// its CPU seconds), which srun alone cannot say per rank; then exits the same way. The supervisor of each
// node's local rank 0 also samples the node's power for the run (energy of any command).
import { spawn } from 'node:child_process';
import os from 'node:os';
import type { Readable } from 'node:stream';
import type { Dealer } from 'zeromq';
import { decodeServer, encode, type ClientMessage } from '../src/coord/protocol';
import { curveServerKeys } from '../src/coord/security';
import { readEnv } from '../src/env';
import { endedChildrenCpuTimeS } from '../src/power/children-cpu';
import type { EnergyProfile } from '../src/power/profile';
import { jobGpusOfNode } from '../src/world/gpu';
import { ACTIVITY_FD, ActivityChannel } from './activity';
import { startNodePower } from './node-power';

const REPORT_TIMEOUT_MS = 3000;

/** One DEALER to the coordinator, connected on first use; messages leave in the order they were sent. */
class CoordinatorLink {
  private dealer?: Promise<Dealer>;
  private chain: Promise<void> = Promise.resolve();

  constructor(
    private readonly endpoint: string,
    private readonly token: string,
  ) {}

  private open(): Promise<Dealer> {
    this.dealer ??= import('zeromq').then((zmq) => {
      const dealer = new zmq.Dealer({ linger: 1000 });
      if (readEnv('JOULE_SECURE')) {
        const pair = zmq.curveKeyPair();
        dealer.curveServerKey = curveServerKeys(this.token).publicKey;
        dealer.curvePublicKey = pair.publicKey;
        dealer.curveSecretKey = pair.secretKey;
      }
      dealer.receiveTimeout = REPORT_TIMEOUT_MS;
      dealer.connect(this.endpoint);
      return dealer;
    });
    return this.dealer;
  }

  /** Resolves once ZeroMQ is loaded and the socket is dialing (or could not be: sends then go nowhere). */
  async ready(): Promise<void> {
    await this.open().catch(() => undefined);
  }

  send(message: ClientMessage): Promise<void> {
    this.chain = this.chain.then(async () => (await this.open()).send(encode(message))).catch(() => undefined);
    return this.chain;
  }

  /** Sends and waits for the answer; undefined when none came (the coordinator is gone). */
  async request(message: ClientMessage): Promise<ReturnType<typeof decodeServer> | undefined> {
    await this.send(message);
    try {
      const [answer] = await (await this.open()).receive();
      return decodeServer(answer);
    } catch {
      return undefined;
    }
  }

  async close(): Promise<void> {
    await this.chain;
    if (this.dealer) (await this.dealer).close();
  }
}

function main(): void {
  const [file, ...args] = process.argv.slice(2);
  const coord = readEnv('JOULE_COORD');
  const token = readEnv('JOULE_JOB_SECRET');
  const link = coord && token ? new CoordinatorLink(`tcp://${coord.host}:${coord.port}`, token) : undefined;
  const rank = Number(process.env.SLURM_PROCID ?? -1);
  const host = readEnv('JOULE_HOST') || process.env.SLURMD_NODENAME || os.hostname();

  // fd 3 is the rank's activity channel: its last activity travels with the exit report, so a crash right after setActivity names it.
  const child = spawn(file, args, { stdio: ['inherit', 'inherit', 'inherit', 'pipe'], env: { ...process.env, JOULE_ACTIVITY_FD: String(ACTIVITY_FD) } });
  const activity = new ActivityChannel(child.stdio[ACTIVITY_FD] as Readable | null);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => child.kill(signal));

  // The link is opened first: loading ZeroMQ between the sampler's first reading and its run window would
  // leave samples outside the window (tens of ms on a loaded node).
  const nodePower =
    link && token && process.env.SLURM_LOCALID === '0' && readEnv('JOULE_POWER') === 'on'
      ? link.ready().then(() =>
          startNodePower({
            host,
            rank,
            gpus: jobGpusOfNode(),
            profile: readEnv('JOULE_ENERGY_PROFILE') as EnergyProfile | undefined,
            sink: (stream, record) => void link.send({ t: 'node-power', token, rank, items: [{ k: 'stream', time: Date.now(), stream, record }] }),
            warn: (message) => process.stderr.write(`joule: ${message}\n`),
          }),
        )
      : undefined;

  const report = async (exitCode: number | null, signal: string | null, pid: number, last?: string): Promise<void> => {
    await (await nodePower)?.stop(false).catch((error: Error) => process.stderr.write(`joule: the node's power sampler failed: ${error.message}\n`));
    if (!link || !token) return;
    const cpuTimeS = endedChildrenCpuTimeS();
    const answer = await link.request({ t: 'exited', id: 1, token, rank, host, pid, exitCode, signal, ...(last === undefined ? {} : { activity: last }), ...(cpuTimeS === undefined ? {} : { cpuTimeS }) });
    // No answer: the coordinator is gone (the job is already over), and srun's own exit status still tells the story.
    if (answer && typeof answer !== 'string' && answer.t === 'refused') process.stderr.write(`joule: rank ${rank}: exit report refused: ${answer.reason}\n`);
    await link.close();
  };

  child.on('error', (error) => {
    process.stderr.write(`joule: cannot start ${file}: ${error.message}\n`);
    void report(127, null, process.pid).then(() => process.exit(127));
  });
  child.on('exit', (code, signal) => {
    void activity.final().then((last) => report(code, signal, child.pid ?? process.pid, last)).then(() => {
      if (signal) process.exit(128 + (os.constants.signals[signal] ?? 0));
      process.exit(code ?? 1);
    });
  });
}

main();
