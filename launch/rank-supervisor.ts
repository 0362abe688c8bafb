// Runs one rank under srun and tells the coordinator how it ended (exit code or signal), which srun
// alone cannot say per rank; then exits the same way.
import { spawn } from 'node:child_process';
import os from 'node:os';
import type { Readable } from 'node:stream';
import { decodeServer, encode } from '../src/coord/protocol';
import { curveServerKeys } from '../src/coord/security';
import { readEnv } from '../src/env';
import { ACTIVITY_FD, ActivityChannel } from './activity';

const REPORT_TIMEOUT_MS = 3000;

async function report(exitCode: number | null, signal: string | null, pid: number, activity?: string): Promise<void> {
  const coord = readEnv('JOULE_COORD');
  const token = readEnv('JOULE_JOB_SECRET');
  if (!coord || !token) return;
  const endpoint = `tcp://${coord.host}:${coord.port}`;
  const zmq = await import('zeromq');
  const dealer = new zmq.Dealer({ linger: 0 });
  if (readEnv('JOULE_SECURE')) {
    const pair = zmq.curveKeyPair();
    dealer.curveServerKey = curveServerKeys(token).publicKey;
    dealer.curvePublicKey = pair.publicKey;
    dealer.curveSecretKey = pair.secretKey;
  }
  dealer.receiveTimeout = REPORT_TIMEOUT_MS;
  dealer.connect(endpoint);
  const rank = Number(process.env.SLURM_PROCID ?? -1);
  const host = readEnv('JOULE_HOST') || process.env.SLURMD_NODENAME || os.hostname();
  try {
    await dealer.send(encode({ t: 'exited', id: 1, token, rank, host, pid, exitCode, signal, ...(activity === undefined ? {} : { activity }) }));
    const [answer] = await dealer.receive();
    const message = decodeServer(answer);
    if (typeof message !== 'string' && message.t === 'refused') process.stderr.write(`joule: rank ${rank}: exit report refused: ${message.reason}\n`);
  } catch {
    // The coordinator is gone (job already over): srun's own exit status still tells the story.
  } finally {
    dealer.close();
  }
}

function main(): void {
  const [file, ...args] = process.argv.slice(2);
  // fd 3 is the rank's activity channel: its last activity travels with the exit report, so a crash right after setActivity names it.
  const child = spawn(file, args, { stdio: ['inherit', 'inherit', 'inherit', 'pipe'], env: { ...process.env, JOULE_ACTIVITY_FD: String(ACTIVITY_FD) } });
  const activity = new ActivityChannel(child.stdio[ACTIVITY_FD] as Readable | null);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => child.kill(signal));
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
