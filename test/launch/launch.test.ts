// `joule launch` end to end on this host: rendezvous, run record, and every failure path the issue names.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { encode, decodeServer } from '../../src/coord/protocol';
import { native } from '../../src/native';
import { joule, jouleBin, run } from '../helpers/run';
import { assertValidRunDir } from '../helpers/run-schema';

const fixtures = path.join(__dirname, 'fixtures');
const hello = path.join(fixtures, 'hello.js');
const behave = path.join(fixtures, 'behave.js');

function tempRoot(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'joule-launch-'));
}

function readJsonl(file: string): Record<string, unknown>[] {
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line));
}

/** run.json, once the whole run directory has passed the run record's schema. */
function manifest(runDir: string): Record<string, any> {
  assertValidRunDir(runDir);
  return JSON.parse(fs.readFileSync(path.join(runDir, 'run.json'), 'utf8'));
}

/** Starts `joule launch` and keeps the process for tests that poke at a running job. */
function startLaunch(args: string[]) {
  const child = spawn(process.execPath, [jouleBin, 'launch', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => (stdout += chunk));
  child.stderr.on('data', (chunk) => (stderr += chunk));
  const done = new Promise<{ code: number | null }>((resolve) => child.on('close', (code) => resolve({ code })));
  return { child, done, output: () => ({ stdout, stderr }) };
}

async function until(what: string, check: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('joule launch (local)', function () {
  this.timeout(60_000);

  it('starts ranks that find each other, share values, pass a barrier and leave a complete run record', async () => {
    const runDir = path.join(tempRoot(), 'run');
    const result = await joule(['launch', '-n', '3', '--name', 'hello', '--run-dir', runDir, '--json', '--', process.execPath, hello]);
    assert.equal(result.code, 0, result.stderr);
    const summary = JSON.parse(result.stdout);
    assert.equal(summary.status, 'succeeded');
    assert.equal(summary.exitCode, 0);
    // Rank output goes to stderr with --json, prefixed by rank.
    const lines = result.stderr.split('\n').filter((l) => l.startsWith('[') && l.includes('{'));
    const ranks = lines.map((l) => JSON.parse(l.slice(l.indexOf('{'))));
    assert.deepEqual(ranks.map((r) => r.rank).sort(), [0, 1, 2]);
    for (const r of ranks) {
      assert.equal(r.size, 3);
      assert.equal(r.localRank, r.rank);
      assert.match(r.peer, /:\d+$/, 'kv.wait returned the next rank\'s value');
      assert.equal(lines.find((l) => l.startsWith(`[${r.rank}] `)) !== undefined, true);
    }
    const run = manifest(runDir);
    assert.equal(run.schema, 'joule.run/1');
    assert.equal(run.status, 'succeeded');
    assert.equal(run.name, 'hello');
    assert.deepEqual(run.command, [process.execPath, hello]);
    assert.equal(run.size, 3);
    assert.equal(run.profile.name, 'local');
    assert.deepEqual(run.hosts, [os.hostname()]);
    assert.deepEqual(run.ranks.map((r: any) => [r.rank, r.exitCode, r.host]), [0, 1, 2].map((r) => [r, 0, os.hostname()]));
    assert.deepEqual(run.gpuBinding.rules, ['none']);
    assert.ok(run.versions.joule && run.versions.node && run.versions.zeromq);
    assert.ok('joule' in run.git && 'cwd' in run.git);
    assert.ok(run.startedAt && run.endedAt && run.durationS > 0);
    assert.equal(JSON.stringify(run).includes(process.env.JOULE_JOB_SECRET ?? 'no-secret-in-env'), false);
    assert.ok(!Object.keys(run.environment).includes('JOULE_JOB_SECRET'));
    const events = readJsonl(path.join(runDir, 'events.jsonl'));
    assert.equal(events.filter((e) => e.type === 'rank-joined').length, 3);
    assert.equal(events.filter((e) => e.type === 'log').length, 3);
    assert.deepEqual(readJsonl(path.join(runDir, 'metrics.jsonl')).map((m) => m.value).sort(), [42, 43, 44]);
    assert.equal(readJsonl(path.join(runDir, 'samples.jsonl')).length, 3);
    // node-power.jsonl: the launcher's node sampler (left out of the energy here: the ranks measured themselves).
    assert.deepEqual(run.streams, ['events.jsonl', 'metrics.jsonl', 'node-power.jsonl', 'power.jsonl', 'samples.jsonl']);
    assert.equal(fs.statSync(path.join(runDir, 'run.json')).mode & 0o777, 0o644);
    assert.equal(fs.statSync(runDir).mode & 0o777, 0o755);
  });

  it('binds local rank -> GPU when the node has GPUs, and records the rule', async () => {
    const runDir = path.join(tempRoot(), 'gpu');
    const result = await joule(['launch', '-n', '2', '--run-dir', runDir, '--json', '--', process.execPath, hello], { JOULE_GPU_COUNT: '2', CUDA_VISIBLE_DEVICES: '' });
    assert.equal(result.code, 0, result.stderr);
    const ranks = result.stderr.split('\n').filter((l) => l.includes('"gpuBinding"')).map((l) => JSON.parse(l.slice(l.indexOf('{'))));
    assert.deepEqual(ranks.map((r) => [r.rank, r.cvd, r.gpuBinding]).sort(), [[0, '0', 'local-rank'], [1, '1', 'local-rank']]);
    assert.deepEqual(manifest(runDir).gpuBinding.rules, ['local-rank']);
  });

  it('binds each local rank to its own share of the CPUs (every thread), records it, and leaves ranks unbound with JOULE_CPU_BIND=none', async () => {
    const allowed = native().allowedCpus();
    const ranksOf = (stderr: string) =>
      stderr
        .split('\n')
        .filter((l) => l.includes('"cpuBinding"'))
        .map((l) => JSON.parse(l.slice(l.indexOf('{'))) as { rank: number; cpus: number[]; cpuBinding: string; threadCpus: string[] })
        .sort((a, b) => a.rank - b.rank);
    // The kernel's list format: runs of consecutive CPUs as "a-b", joined by commas.
    const list = (cpus: number[]) =>
      cpus
        .reduce<number[][]>((runs, cpu) => {
          const last = runs[runs.length - 1];
          if (last && cpu === last[last.length - 1] + 1) last.push(cpu);
          else runs.push([cpu]);
          return runs;
        }, [])
        .map((r) => (r.length === 1 ? String(r[0]) : `${r[0]}-${r[r.length - 1]}`))
        .join(',');
    const runDir = path.join(tempRoot(), 'cpu');
    const bound = await joule(['launch', '-n', '2', '--run-dir', runDir, '--json', '--', process.execPath, hello]);
    assert.equal(bound.code, 0, bound.stderr);
    const ranks = ranksOf(bound.stderr);
    assert.equal(ranks.length, 2);
    if (allowed.length >= 2) {
      // Two contiguous, disjoint, non-empty halves of what the launcher was allowed, in rank order.
      assert.deepEqual([...ranks[0].cpus, ...ranks[1].cpus], allowed);
      for (const r of ranks) {
        assert.equal(r.cpuBinding, 'local-rank');
        assert.ok(r.cpus.length > 0);
        assert.deepEqual(r.threadCpus, [list(r.cpus)], `rank ${r.rank}: every thread on ${list(r.cpus)}`);
      }
    } else {
      for (const r of ranks) assert.equal(r.cpuBinding, 'none');
    }
    assert.deepEqual(manifest(runDir).ranks.map((r: { cpus: number[] }) => r.cpus), ranks.map((r) => r.cpus));
    for (const r of manifest(runDir).ranks as { cpuBindingReason: string }[]) assert.match(r.cpuBindingReason, /local rank \d of 2 on \d+ CPUs|local ranks, \d+ CPUs allowed/);

    const unbound = await joule(['launch', '-n', '2', '--run-dir', path.join(tempRoot(), 'cpu-none'), '--json', '--', process.execPath, hello], { JOULE_CPU_BIND: 'none' });
    assert.equal(unbound.code, 0, unbound.stderr);
    for (const r of ranksOf(unbound.stderr)) {
      assert.equal(r.cpuBinding, 'none');
      assert.deepEqual(r.cpus, allowed);
    }
  });

  it('a rank exiting with code 3 aborts the others and the launcher exits 3, naming the rank', async () => {
    const runDir = path.join(tempRoot(), 'exit3');
    const result = await joule(['launch', '-n', '3', '--run-dir', runDir, '--', process.execPath, behave, 'exit3']);
    assert.equal(result.code, 3, result.stderr);
    assert.match(result.stderr, /job failed: rank 1 on host \S+ \(pid \d+\) exited with code 3/);
    for (const rank of [0, 2]) assert.match(result.stderr, new RegExp(`\\[${rank}\\] rank failed: JOULE_RANK_FAILED rank ${rank} aborted: rank 1 on host`));
    const run = manifest(runDir);
    assert.equal(run.status, 'failed');
    assert.equal(run.exitCode, 3);
    assert.equal(run.failure.rank, 1);
    assert.equal(run.failure.exitCode, 3);
    assert.deepEqual(run.ranks.map((r: any) => r.state), ['aborted', 'failed', 'aborted']);
  });

  it('a rank killed with SIGKILL while the others wait in a barrier takes the job down fast, naming rank, host, signal and activity', async () => {
    const runDir = path.join(tempRoot(), 'kill');
    const result = await joule(['launch', '-n', '3', '--run-dir', runDir, '--', process.execPath, behave, 'kill']);
    assert.equal(result.code, 128 + 9, result.stderr);
    assert.match(result.stderr, /job failed: rank 1 on host \S+ \(pid \d+\) was killed by SIGKILL; last activity: "step 7 of kill"; last barrier: "warmup#0"/);
    for (const rank of [0, 2]) assert.match(result.stderr, new RegExp(`\\[${rank}\\] joule: rank ${rank} aborted: rank 1 on host .* SIGKILL; last activity: "step 7 of kill"`));
    const events = readJsonl(path.join(runDir, 'events.jsonl'));
    const failedAt = Date.parse(events.find((e) => e.type === 'failure')!.time as string);
    const lastExit = Math.max(...events.filter((e) => e.type === 'rank-exited').map((e) => Date.parse(e.time as string)));
    const abortS = (lastExit - failedAt) / 1000;
    process.stdout.write(`      (measured: last rank gone ${abortS.toFixed(2)} s after the failure)\n`);
    assert.ok(abortS < 10, `every rank gone within the spec's 5 s (10 s with slack), took ${abortS} s`);
    assert.equal(manifest(runDir).failure.signal, 'SIGKILL');
  });

  it('detects a frozen rank (SIGSTOP) by its missing heartbeats and aborts the job', async () => {
    const runDir = path.join(tempRoot(), 'stop');
    const result = await joule(['launch', '-n', '2', '--heartbeat', '0.5', '--heartbeat-misses', '3', '--run-dir', runDir, '--', process.execPath, behave, 'stop']);
    assert.equal(result.code, 1, result.stderr);
    assert.match(result.stderr, /job failed: rank 1 on host \S+ \(pid \d+\) stopped answering heartbeats .*limit 3 x 0.5 s.*last activity: "step 7 of stop"/);
    assert.match(result.stderr, /\[0\] joule: rank 0 aborted: rank 1 .* stopped answering heartbeats/);
    const run = manifest(runDir);
    assert.equal(run.failure.kind, 'heartbeat');
    assert.equal(run.ranks[1].signal, 'SIGKILL', 'the launcher killed the frozen rank');
  });

  it('world.abort(reason) takes the job down with the reason', async () => {
    const result = await joule(['launch', '-n', '2', '--run-dir', path.join(tempRoot(), 'abort'), '--', process.execPath, behave, 'abort']);
    assert.equal(result.code, 1, result.stderr);
    assert.match(result.stderr, /job failed: rank 1 on host \S+ \(pid \d+\) called abort: loss is NaN/);
  });

  it('a join timeout lists the ranks that never arrived', async () => {
    const runDir = path.join(tempRoot(), 'late');
    const result = await joule(['launch', '-n', '3', '--join-timeout', '2', '--run-dir', runDir, '--', process.execPath, behave, 'late', '2']);
    assert.equal(result.code, 1, result.stderr);
    assert.match(result.stderr, /join timeout: rank\(s\) 2 never joined/);
    assert.match(result.stderr, /\[0\] rank failed: JOULE_TIMEOUT rank 0 aborted: join timeout: rank\(s\) 2 never joined/);
    assert.deepEqual(manifest(runDir).failure.missingRanks, [2]);
  });

  it('SIGTERM to the launcher stops every rank and leaves status "terminated" with the data so far', async () => {
    const runDir = path.join(tempRoot(), 'term');
    const job = startLaunch(['-n', '2', '--run-dir', runDir, '--', process.execPath, behave, 'hang']);
    await until('both ranks ready', () => /ready 0/.test(job.output().stdout) && /ready 1/.test(job.output().stdout));
    job.child.kill('SIGTERM');
    const { code } = await job.done;
    assert.equal(code, 128 + 15, job.output().stderr);
    const run = manifest(runDir);
    assert.equal(run.status, 'terminated');
    assert.equal(run.failure.kind, 'terminated');
    assert.equal(run.ranks.length, 2);
    assert.ok(run.ranks.every((r: any) => r.endedAt), 'every rank has ended');
    const events = readJsonl(path.join(runDir, 'events.jsonl'));
    assert.equal(events.filter((e) => e.type === 'rank-joined').length, 2);
    assert.equal(events.at(-1)!.type, 'run-ended');
  });

  it('ranks leave on their own when the launcher dies (heartbeats both ways), and the record stays readable', async () => {
    const runDir = path.join(tempRoot(), 'orphans');
    const job = startLaunch(['-n', '2', '--heartbeat', '0.5', '--heartbeat-misses', '3', '--run-dir', runDir, '--', process.execPath, behave, 'hang']);
    await until('both ranks ready', () => /ready 0/.test(job.output().stdout) && /ready 1/.test(job.output().stdout));
    await until('both joins in run.json', () => manifest(runDir).ranks.filter((r: any) => r?.pid).length === 2);
    // Streams are written in batches (at most 200 ms late): wait for the one holding the joins.
    const eventsFile = path.join(runDir, 'events.jsonl');
    await until('events.jsonl written', () => fs.existsSync(eventsFile) && fs.readFileSync(eventsFile, 'utf8').includes('all-joined'));
    const pids: number[] = manifest(runDir).ranks.map((r: any) => r.pid);
    job.child.kill('SIGKILL');
    await job.done;
    const alive = (pid: number) => {
      try {
        process.kill(pid, 0);
        return !/^\d+ \(.*\) Z/.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
      } catch {
        return false;
      }
    };
    // The ranks are their own process groups, so only the coordinator's silence can end them.
    await until('the orphaned ranks to exit', () => !pids.some(alive), 10_000);
    const run = manifest(runDir);
    assert.equal(run.status, 'running', 'a launcher killed mid-run leaves the last complete run.json');
    assert.ok(readJsonl(eventsFile).some((e) => e.type === 'all-joined'), 'every line of events.jsonl is whole JSON');
  });

  it('refuses a join with a wrong secret, survives garbage frames, and the job still succeeds', async () => {
    const runDir = path.join(tempRoot(), 'garbage');
    const job = startLaunch(['-n', '2', '--run-dir', runDir, '--', process.execPath, behave, 'gate']);
    await until('both ranks ready', () => /ready 0/.test(job.output().stdout) && /ready 1/.test(job.output().stdout));
    const endpoint: string = manifest(runDir).launcher.coordinator;
    const [, host, port] = /^tcp:\/\/(.+):(\d+)$/.exec(endpoint)!;

    // Raw bytes that are not ZMTP at all.
    await new Promise<void>((resolve) => {
      const socket = net.connect(Number(port), host, () => {
        socket.write(Buffer.from('GET / HTTP/1.0\r\n\r\n\x00\xff garbage'));
        setTimeout(() => socket.destroy(), 200);
      });
      socket.on('close', () => resolve());
      socket.on('error', () => resolve());
    });
    // Proper ZeroMQ framing with bad contents, then a join with the wrong secret.
    const zmq = await import('zeromq');
    const dealer = new zmq.Dealer({ linger: 0, receiveTimeout: 10_000 });
    dealer.connect(endpoint);
    await dealer.send(Buffer.from([0xc1, 0xff, 0x00]));
    await dealer.send(encode({ t: 'hb' }).fill(0x92, 0, 1));
    await dealer.send([Buffer.from('two'), Buffer.from('frames')]);
    await dealer.send(Buffer.from(JSON.stringify({ v: 99, t: 'join' })));
    await dealer.send(encode({ t: 'join', token: 'f'.repeat(64), rank: 0, size: 2, host: 'intruder', pid: 1, caps: {} }));
    const [answer] = await dealer.receive();
    dealer.close();
    const reply = decodeServer(answer);
    assert.ok(typeof reply !== 'string' && reply.t === 'refused', `expected refused, got ${JSON.stringify(reply)}`);
    assert.match((reply as { reason: string }).reason, /wrong job secret/);

    fs.writeFileSync(path.join(runDir, 'go'), '');
    const { code } = await job.done;
    const { stderr } = job.output();
    assert.equal(code, 0, stderr);
    assert.match(stderr, /refused a join claiming rank 0 from host intruder pid 1: wrong job secret/);
    assert.match(stderr, /dropped a frame from peer [0-9a-f]+: /);
    const run = manifest(runDir);
    assert.equal(run.status, 'succeeded');
    assert.ok(run.droppedFrames >= 3, `dropped ${run.droppedFrames}`);
    assert.ok(readJsonl(path.join(runDir, 'events.jsonl')).some((e) => e.type === 'join-refused' && e.host === 'intruder'));
  });

  it('--secure runs the job over CURVE', async () => {
    const result = await joule(['launch', '-n', '2', '--secure', '--run-dir', path.join(tempRoot(), 'secure'), '--', process.execPath, hello]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /\[1\] rank 1\/2 sees rank 0/);
  });

  it('runs the example on its own as a world of one, and under the launcher', async () => {
    const example = path.join(__dirname, '..', '..', 'examples', 'hello.js');
    const alone = await run(process.execPath, [example], { env: { ...process.env, JOULE_POWER: 'off' } });
    assert.equal(alone.code, 0, alone.stderr);
    assert.match(alone.stdout, /\[0\] rank 0 of 1 on /);
    const launched = await joule(['launch', '-n', '2', '--run-dir', path.join(tempRoot(), 'example'), '--', process.execPath, example]);
    assert.equal(launched.code, 0, launched.stderr);
    assert.match(launched.stdout, /\[1\] rank 1 of 2 on .*rank 0 runs on /);
  });

  it('rejects bad usage with exit 2', async () => {
    assert.equal((await joule(['launch', '-n', '0', '--', 'true'])).code, 2);
    assert.equal((await joule(['launch', '-n', '2'])).code, 2);
    assert.equal((await joule(['launch', '-n', '2', '--name', '../x', '--', 'true'])).code, 2);
    const noProfile = await joule(['launch', '-n', '1', '--profile', 'nosuch', '--', 'true']);
    assert.equal(noProfile.code, 2);
    assert.match(noProfile.stderr, /known profiles: .*local/);
  });
});
