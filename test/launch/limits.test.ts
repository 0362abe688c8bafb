// `joule launch` limits and stopping: rank counts this node cannot hold, commands that do not exist,
// signals at any moment, and a rank that finalizes but never exits.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { checkRankCount, RANKS_PER_CPU_LIMIT } from '../../launch/preflight';
import { isJouleError } from '../../src/errors';
import { joule, jouleBin } from '../helpers/run';

const behave = path.join(__dirname, 'fixtures', 'behave.js');

function tempRoot(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'joule-limits-'));
}

/** Processes whose command line holds `token` (ranks the launcher should have stopped). */
function processesWith(token: string): number[] {
  const found: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      if (/^\d+ \(.*\) Z/.test(stat)) continue;
      if (fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(token)) found.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

describe('joule launch: limits and stopping', function () {
  this.timeout(90_000);

  it('refuses more ranks than the node holds unless --oversubscribe, and warns when ranks share CPUs', () => {
    assert.equal(checkRankCount(2, false, 2), undefined);
    assert.match(checkRankCount(3, false, 2) ?? '', /3 ranks on 2 allowed CPU\(s\): ranks share CPUs/);
    assert.throws(() => checkRankCount(RANKS_PER_CPU_LIMIT * 2 + 1, false, 2), (error: unknown) => isJouleError(error, 'JOULE_BAD_ARGUMENT') && /--oversubscribe/.test((error as Error).message));
    assert.match(checkRankCount(100_000, true, 2) ?? '', /share CPUs/);
  });

  it('-n 100000 exits 2 at once with the limit and the flag to lift it, starting nothing and writing no run directory', async () => {
    const cwd = tempRoot();
    const result = await joule(['launch', '-n', '100000', '--', 'true'], {}, { cwd, timeoutMs: 30_000 });
    assert.equal(result.code, 2, result.stderr);
    assert.match(result.stderr, /at most \d+ ranks .*--oversubscribe.*\[JOULE_BAD_ARGUMENT\]/);
    assert.equal(fs.existsSync(path.join(cwd, 'runs')), false);
  });

  for (const command of ['/nonexistent/rank-command', 'no-such-command-joule-test']) {
    it(`a rank command that does not exist (${command}): one message, exit 2, no run directory`, async () => {
      const cwd = tempRoot();
      const result = await joule(['launch', '-n', '2', '--', command], {}, { cwd, timeoutMs: 30_000 });
      assert.equal(result.code, 2, result.stderr);
      assert.equal(result.stderr.split(`cannot start ${command}`).length - 1, 1, result.stderr);
      assert.match(result.stderr, /JOULE_BAD_ARGUMENT/);
      assert.doesNotMatch(result.stderr, /\n\s+at /, 'no stack trace');
      assert.equal(fs.existsSync(path.join(cwd, 'runs')), false);
    });
  }

  it('ends a rank that finalized but does not exit after --exit-grace, naming it, and the job still succeeds', async () => {
    const runDir = path.join(tempRoot(), 'run');
    const result = await joule(['launch', '-n', '2', '--exit-grace', '0.5', '--run-dir', runDir, '--', process.execPath, behave, 'linger'], {}, { timeoutMs: 45_000 });
    assert.equal(result.signal, null, `the launcher had to be killed: ${result.stderr}`);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /rank 1 \(pid \d+\) called finalize but had not exited 0\.5 s later: ending it/);
    const events = fs.readFileSync(path.join(runDir, 'events.jsonl'), 'utf8');
    assert.match(events, /"type":"rank-ended-after-finalize","rank":1/);
  });

  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    it(`${signal} as soon as the run directory exists: stops spawning, stops what started, records "terminated"`, async () => {
      const root = tempRoot();
      const runDir = path.join(root, 'run');
      const token = `joule-limits-${signal}-${process.pid}-${Date.now()}`;
      const child = spawn(process.execPath, [jouleBin, 'launch', '-n', '8', '--oversubscribe', '--run-dir', runDir, '--', process.execPath, behave, 'hang', '0', token], { stdio: ['ignore', 'pipe', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (chunk) => (stderr += chunk));
      const closed = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('close', (code, sig) => resolve({ code, signal: sig })));
      const deadline = Date.now() + 30_000;
      while (!fs.existsSync(path.join(runDir, 'run.json'))) {
        assert.ok(Date.now() < deadline, `no run directory: ${stderr}`);
        await new Promise((r) => setTimeout(r, 5));
      }
      child.kill(signal);
      const killer = setTimeout(() => child.kill('SIGKILL'), 40_000);
      const ended = await closed;
      clearTimeout(killer);
      assert.equal(ended.signal, null, `the launcher died of ${ended.signal} instead of handling it: ${stderr}`);
      assert.equal(ended.code, 128 + os.constants.signals[signal], stderr);
      const run = JSON.parse(fs.readFileSync(path.join(runDir, 'run.json'), 'utf8'));
      assert.equal(run.status, 'terminated');
      // Every rank started was stopped (ranks lead their own process groups).
      await new Promise((r) => setTimeout(r, 200));
      assert.deepEqual(processesWith(token), []);
    });
  }
});
