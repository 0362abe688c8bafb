// A private two-node SLURM cluster on this host for the tests (munged, slurmctld, slurmd n1 and n2), started once per mocha run and stopped by its PID files.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from './ports';
import { skipBecause } from './skip';

export interface SlurmCluster {
  /** The private folder holding configuration, state, spool, logs and PID files. */
  dir: string;
  /** The slurm.conf path: clients find the cluster through SLURM_CONF. */
  conf: string;
  /** This process's environment without any SLURM_* or JOULE_* variables, plus SLURM_CONF and the SLURM binaries on PATH. */
  env: NodeJS.ProcessEnv;
  nodes: string[];
  partition: string;
  /** Seconds from the first daemon's start until both nodes were idle. */
  startS: number;
}

const clientTools = ['srun', 'sbatch', 'sinfo', 'scontrol', 'scancel', 'squeue'];
const daemons = ['munged', 'slurmctld', 'slurmd'];
const searchDirs = () => [...(process.env.PATH ?? '').split(':').filter(Boolean), '/usr/sbin', '/usr/local/sbin', '/sbin'];
const dirPrefix = 'joule-slurmcluster-';
/** The first line of every slurm.conf written here: only folders holding it are ever torn down as stale. */
const confMarker = '# A private two-node cluster on one host for joule tests (test/helpers/slurm-cluster.ts).';
const idleTimeoutMs = 20_000;

function which(tool: string): string | undefined {
  for (const dir of searchDirs()) {
    const candidate = path.join(dir, tool);
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      return candidate;
    } catch {
      // not in this folder
    }
  }
  return undefined;
}

/** Why a private cluster cannot start here, or undefined when it can. */
export function slurmUnavailableReason(): string | undefined {
  if (process.platform !== 'linux') return `SLURM tests need Linux (this is ${process.platform})`;
  const missing = [...daemons, ...clientTools].filter((tool) => !which(tool));
  if (missing.length > 0) {
    return `SLURM is not installed (missing ${missing.join(', ')}); as root, bash .ci/install-debian-packages.sh installs slurmctld slurmd slurm-client munge libpmix2`;
  }
  if (process.getuid?.() !== 0) return 'the private SLURM cluster runs its daemons as root (SlurmUser=root); run the tests as root';
  return undefined;
}

function alive(pid: number): boolean {
  try {
    // A zombie (exited, unreaped: PID 1 does not reap here) counts as gone.
    return !/^\d+ \(.*\) Z/.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

function readPid(file: string): number | undefined {
  try {
    const pid = Number(fs.readFileSync(file, 'utf8').trim());
    return Number.isSafeInteger(pid) && pid > 1 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** Processes started for the cluster in `dir`: daemons by PID file, plus anything whose command line or environment names the folder (slurmstepd, job tasks). */
function clusterProcesses(dir: string): number[] {
  const pids = new Set<number>();
  const runDir = path.join(dir, 'run');
  if (fs.existsSync(runDir)) {
    for (const file of fs.readdirSync(runDir)) {
      const pid = file.endsWith('.pid') ? readPid(path.join(runDir, file)) : undefined;
      // Only trust a PID file while that PID still runs something of this cluster (PIDs get reused).
      if (pid && alive(pid) && mentions(pid, dir)) pids.add(pid);
    }
  }
  for (const entry of fs.readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isSafeInteger(pid) || pid === process.pid || pids.has(pid)) continue;
    if (alive(pid) && mentions(pid, dir)) pids.add(pid);
  }
  return [...pids];
}

function mentions(pid: number, dir: string): boolean {
  for (const file of ['cmdline', 'environ']) {
    try {
      if (fs.readFileSync(`/proc/${pid}/${file}`, 'latin1').includes(dir)) return true;
    } catch {
      // gone, or not ours to read
    }
  }
  return false;
}

async function waitGone(pids: number[], timeoutMs: number): Promise<number[]> {
  const deadline = Date.now() + timeoutMs;
  let left = pids.filter(alive);
  while (left.length > 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    left = left.filter(alive);
  }
  return left;
}

function signal(pids: number[], name: NodeJS.Signals): void {
  for (const pid of pids) {
    try {
      process.kill(pid, name);
    } catch {
      // already gone
    }
  }
}

/** Stops every process of the cluster in `dir` (SIGTERM, then SIGKILL after 3 s) and removes the folder. */
async function teardown(dir: string): Promise<void> {
  let pids = clusterProcesses(dir);
  signal(pids, 'SIGTERM');
  pids = await waitGone(pids, 3000);
  signal(pids, 'SIGKILL');
  await waitGone(pids, 2000);
  // Job tasks that outlived their slurmstepd would be found now.
  const stragglers = clusterProcesses(dir);
  signal(stragglers, 'SIGKILL');
  await waitGone(stragglers, 2000);
  if (process.env.JOULE_KEEP_SLURM !== '1') fs.rmSync(dir, { recursive: true, force: true });
}

/** Clusters left by test runs that died without cleaning up (their owner PID is gone). */
async function removeStaleClusters(): Promise<void> {
  for (const entry of fs.readdirSync(os.tmpdir())) {
    if (!entry.startsWith(dirPrefix)) continue;
    const dir = path.join(os.tmpdir(), entry);
    // Only a folder this helper made (its slurm.conf starts with the marker) whose owning test run is gone.
    const owner = readPid(path.join(dir, 'owner.pid'));
    if (owner === undefined || alive(owner)) continue;
    let conf = '';
    try {
      conf = fs.readFileSync(path.join(dir, 'slurm.conf'), 'utf8');
    } catch {
      continue;
    }
    if (conf.startsWith(`${confMarker}\n`)) await teardown(dir);
  }
}

function slurmConf(dir: string, host: string, ports: { ctld: number; n1: number; n2: number }, mungeSocket: string): string {
  const node = (name: string, port: number) =>
    `NodeName=${name} NodeHostname=${host} NodeAddr=127.0.0.1 Port=${port} CPUs=2 TmpDisk=64`;
  return [
    confMarker,
    `ClusterName=joule${process.pid}`,
    `SlurmctldHost=${host}(127.0.0.1)`,
    `SlurmctldPort=${ports.ctld}`,
    'SlurmUser=root',
    'AuthType=auth/munge',
    'CredType=cred/munge',
    `AuthInfo=socket=${mungeSocket}`,
    'ProctrackType=proctrack/linuxproc',
    'TaskPlugin=task/none',
    'JobAcctGatherType=jobacct_gather/none',
    'AccountingStorageType=accounting_storage/none',
    'SelectType=select/cons_tres',
    'MailProg=/bin/true',
    'ReturnToService=2',
    // Keep finished jobs 4 s: sbatch --wait then polls every 2 s instead of 2, 8, 32 s.
    'MinJobAge=4',
    // Schedule a batch job when it is submitted, not up to 3 s later.
    'SchedulerParameters=batch_sched_delay=0',
    // The node lines, not this host's hardware, say what each node has (both share this host).
    'SlurmdParameters=config_overrides',
    `StateSaveLocation=${dir}/state`,
    `SlurmdSpoolDir=${dir}/spool/%n`,
    `SlurmctldPidFile=${dir}/run/slurmctld.pid`,
    `SlurmdPidFile=${dir}/run/slurmd-%n.pid`,
    `SlurmctldLogFile=${dir}/log/slurmctld.log`,
    `SlurmdLogFile=${dir}/log/slurmd-%n.log`,
    `TmpFS=${dir}/tmp/%n`,
    node('n1', ports.n1),
    node('n2', ports.n2),
    'PartitionName=joule Nodes=n1,n2 Default=YES MaxTime=INFINITE State=UP',
    '',
  ].join('\n');
}

function tail(file: string, lines = 15): string {
  try {
    return fs.readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

function execText(file: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs: number): Promise<string> {
  return new Promise((resolve) => {
    execFile(file, args, { env, timeout: timeoutMs }, (error, stdout) => resolve(error ? '' : stdout));
  });
}

/** Starts a private cluster; throws with the daemons' log tails when it does not come up. */
export async function startSlurmCluster(): Promise<SlurmCluster & { stop(): Promise<void> }> {
  const reason = slurmUnavailableReason();
  if (reason) throw new Error(reason);
  await removeStaleClusters();

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), dirPrefix));
  fs.chmodSync(dir, 0o755);
  fs.writeFileSync(path.join(dir, 'owner.pid'), `${process.pid}\n`, { mode: 0o644 });
  for (const sub of ['state', 'spool/n1', 'spool/n2', 'run', 'log', 'tmp/n1', 'tmp/n2', 'munge', 'munge-socket']) {
    fs.mkdirSync(path.join(dir, sub), { recursive: true, mode: 0o755 });
  }
  // munged refuses a key others can read, and a socket folder others cannot traverse.
  fs.chmodSync(path.join(dir, 'munge'), 0o700);
  fs.chmodSync(path.join(dir, 'munge-socket'), 0o755);
  const mungeKey = path.join(dir, 'munge', 'munge.key');
  fs.writeFileSync(mungeKey, crypto.randomBytes(1024), { mode: 0o400 });

  const host = os.hostname().split('.')[0];
  const ports = { ctld: await freePort(), n1: await freePort(), n2: await freePort() };
  const mungeSocket = path.join(dir, 'munge-socket', 'munge.socket');
  const conf = path.join(dir, 'slurm.conf');
  fs.writeFileSync(conf, slurmConf(dir, host, ports, mungeSocket), { mode: 0o644 });

  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!key.startsWith('SLURM_') && !key.startsWith('JOULE_')) env[key] = value;
  }
  env.SLURM_CONF = conf;
  env.PATH = [...new Set([...(process.env.PATH ?? '').split(':'), '/usr/sbin', '/usr/bin'])].filter(Boolean).join(':');

  const children: ChildProcess[] = [];
  const started = process.hrtime.bigint();
  const daemon = (tool: string, args: string[], log: string) => {
    const out = fs.openSync(path.join(dir, 'log', log), 'a', 0o644);
    // Foreground daemons are this process's children, so they are reaped here when stopped.
    const child = spawn(which(tool)!, args, { env, stdio: ['ignore', out, out], detached: true });
    fs.closeSync(out);
    child.unref();
    children.push(child);
    return child;
  };
  const cluster = {
    dir,
    conf,
    env,
    nodes: ['n1', 'n2'],
    partition: 'joule',
    startS: 0,
    stop: () => teardown(dir),
  };
  try {
    daemon('munged', ['-F', `--socket=${mungeSocket}`, `--key-file=${mungeKey}`, `--pid-file=${dir}/run/munged.pid`, `--log-file=${dir}/log/munged.log`, `--seed-file=${dir}/munge/seed`], 'munged.out');
    await until(() => fs.existsSync(mungeSocket), 5000, children, () => `munged did not create its socket:\n${tail(path.join(dir, 'log', 'munged.out'))}`);
    daemon('slurmctld', ['-D', '-c', '-f', conf], 'slurmctld.out');
    daemon('slurmd', ['-D', '-f', conf, '-N', 'n1'], 'slurmd-n1.out');
    daemon('slurmd', ['-D', '-f', conf, '-N', 'n2'], 'slurmd-n2.out');
    const sinfo = which('sinfo')!;
    let state = '';
    await until(
      async () => {
        state = await execText(sinfo, ['-h', '-N', '-o', '%N %t'], env, 2000);
        return /^n1 idle$/m.test(state) && /^n2 idle$/m.test(state);
      },
      idleTimeoutMs,
      children,
      () =>
        `the private SLURM cluster did not become idle in ${idleTimeoutMs / 1000} s (sinfo: ${JSON.stringify(state.trim())}).\n` +
        ['slurmctld.out', 'slurmd-n1.out', 'slurmd-n2.out'].map((log) => `--- ${log}\n${tail(path.join(dir, 'log', log))}`).join('\n'),
    );
  } catch (error) {
    await teardown(dir);
    throw error;
  }
  cluster.startS = Number(process.hrtime.bigint() - started) / 1e9;
  return cluster;
}

async function until(check: () => boolean | Promise<boolean>, timeoutMs: number, children: ChildProcess[], explain: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    const dead = children.find((child) => child.exitCode !== null || child.signalCode !== null);
    if (dead) throw new Error(`${path.basename(String(dead.spawnfile))} exited (${dead.exitCode ?? dead.signalCode}) while the cluster started.\n${explain()}`);
    if (Date.now() > deadline) throw new Error(explain());
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

let shared: Promise<SlurmCluster & { stop(): Promise<void> }> | undefined;
let sharedDir: string | undefined;

/**
 * For a describe(): gets the run's shared cluster in a before() hook (starting it on first use) or skips
 * the suite with the reason. The root hook in test/helpers/root-hooks.ts stops it after the run.
 */
export function useSlurmCluster(): () => SlurmCluster {
  let cluster: SlurmCluster | undefined;
  before(async function () {
    const reason = slurmUnavailableReason();
    if (reason) skipBecause(this, reason);
    this.timeout(idleTimeoutMs + 15_000);
    shared ??= startSlurmCluster().then((started) => {
      sharedDir = started.dir;
      process.stderr.write(`  private SLURM cluster up in ${started.startS.toFixed(2)} s (${started.dir})\n`);
      return started;
    });
    cluster = await shared;
  });
  return () => {
    if (!cluster) throw new Error('the SLURM cluster is only available inside tests of a suite that called useSlurmCluster()');
    return cluster;
  };
}

/** Stops the shared cluster, if one was started. */
export async function stopSharedSlurmCluster(): Promise<void> {
  if (!shared) return;
  const pending = shared;
  shared = undefined;
  try {
    await (await pending).stop();
  } catch {
    // it never started; startSlurmCluster already cleaned up
  }
  sharedDir = undefined;
}

// Last resort when mocha exits early or is interrupted: kill the daemons synchronously by PID (the
// next run removes the folder of a cluster whose owner is gone).
process.on('exit', () => {
  if (sharedDir) signal(clusterProcesses(sharedDir), 'SIGKILL');
});
for (const name of ['SIGINT', 'SIGTERM'] as const) {
  const onSignal = () => {
    if (sharedDir) signal(clusterProcesses(sharedDir), 'SIGKILL');
    sharedDir = undefined;
    process.off(name, onSignal);
    // Let mocha's handler, or the default one, do what the signal asked for.
    if (process.listenerCount(name) === 0) process.kill(process.pid, name);
  };
  process.on(name, onSignal);
}
