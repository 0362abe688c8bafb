// The run directory says why a job failed and never mixes two runs: the failed rank's exception and
// last stderr lines (bounded), a refused reused --run-dir, coded errors for paths that cannot hold a run,
// short default names and runs/last.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { defaultName } from '../../launch/launcher';
import { joule } from '../helpers/run';

const fixtures = path.join(__dirname, 'fixtures');
const behave = path.join(fixtures, 'behave.js');
const hello = path.join(fixtures, 'hello.js');

function tempRoot(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'joule-record-'));
}

describe('joule launch: the run record', function () {
  this.timeout(90_000);

  it("records the failed rank's exception and its last stderr lines, bounded, in run.json and events.jsonl", async () => {
    const runDir = path.join(tempRoot(), 'run');
    const result = await joule(['launch', '-n', '2', '--run-dir', runDir, '--', process.execPath, behave, 'throw']);
    assert.equal(result.code, 1, result.stderr);
    const run = JSON.parse(fs.readFileSync(path.join(runDir, 'run.json'), 'utf8'));
    assert.equal(run.failure.rank, 1);
    assert.equal(run.failure.exception, 'Error: boom at step 7');
    const tail: string[] = run.failure.stderrTail;
    assert.ok(tail.length > 0 && tail.length <= 20, `${tail.length} lines`);
    assert.ok(tail.every((line) => line.length <= 301), 'each line bounded');
    assert.ok(tail.includes('Error: boom at step 7'));
    const events = fs.readFileSync(path.join(runDir, 'events.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
    const output = events.find((e) => e.type === 'rank-output');
    assert.equal(output?.rank, 1);
    assert.equal(output?.exception, 'Error: boom at step 7');
  });

  for (const [mode, activity, exitCode] of [
    ['exit-at-once', 'writing checkpoint 3', 5],
    ['throw-at-once', 'step 8: forward', 1],
  ] as const) {
    it(`names the activity a rank set an instant before it ended (${mode}) in run.json's failure and events.jsonl`, async () => {
      const runDir = path.join(tempRoot(), 'run');
      const result = await joule(['launch', '-n', '2', '--run-dir', runDir, '--', process.execPath, behave, mode]);
      assert.equal(result.code, exitCode, result.stderr);
      assert.match(result.stderr, new RegExp(`job failed: rank 1 .*last activity: "${activity}"`));
      const run = JSON.parse(fs.readFileSync(path.join(runDir, 'run.json'), 'utf8'));
      assert.equal(run.failure.rank, 1);
      assert.equal(run.failure.activity, activity);
      const events = fs.readFileSync(path.join(runDir, 'events.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
      assert.equal(events.find((e) => e.type === 'failure')?.activity, activity);
    });
  }

  it('refuses a --run-dir that already holds a run, leaving it as it was', async () => {
    const runDir = path.join(tempRoot(), 'run');
    const first = await joule(['launch', '-n', '1', '--run-dir', runDir, '--', process.execPath, hello]);
    assert.equal(first.code, 0, first.stderr);
    const before = fs.readFileSync(path.join(runDir, 'run.json'), 'utf8');
    const second = await joule(['launch', '-n', '1', '--run-dir', runDir, '--', process.execPath, hello]);
    assert.equal(second.code, 2, second.stderr);
    assert.match(second.stderr, /already holds a run \(run\.json\).*\[JOULE_BAD_ARGUMENT\]/);
    assert.equal(fs.readFileSync(path.join(runDir, 'run.json'), 'utf8'), before);
  });

  it('a --run-dir under a file or under /proc: exit 2 with a coded message, no stack trace, no hang', async () => {
    const root = tempRoot();
    fs.writeFileSync(path.join(root, 'afile'), 'x');
    for (const runDir of [path.join(root, 'afile', 'run'), '/proc/joule-no-such/run']) {
      const result = await joule(['launch', '-n', '1', '--run-dir', runDir, '--', process.execPath, hello], {}, { timeoutMs: 20_000 });
      assert.equal(result.signal, null, `${runDir}: hung`);
      assert.equal(result.code, 2, `${runDir}: ${result.stderr}`);
      assert.match(result.stderr, /cannot use .* as the run directory: .*\[JOULE_BAD_ARGUMENT\]/);
      assert.doesNotMatch(result.stderr, /\n\s+at /);
    }
  });

  it('names runs short and plain whatever the command, and points runs/last at the latest', async () => {
    assert.equal(defaultName(['node', '-e', `console.log(${'"a very long piece of code" + '.repeat(6)} 1)`]), 'node');
    assert.equal(defaultName(['node', '--require', 'tsx/cjs', 'train.ts', '--epochs', '3']), 'train');
    assert.equal(defaultName(['python3', '-m', 'torch.distributed.run', 'x.py']), 'x');
    assert.ok(defaultName(['bash', '-c', 'a'.repeat(200)]).length <= 32);
    const cwd = tempRoot();
    const result = await joule(['launch', '-n', '1', '--', process.execPath, '-e', `require(${JSON.stringify(hello)})`], {}, { cwd });
    assert.equal(result.code, 0, result.stderr);
    const runs = fs.readdirSync(path.join(cwd, 'runs')).filter((name) => name !== 'last');
    assert.equal(runs.length, 1);
    assert.match(runs[0], /^\d{8}-\d{6}-node$/);
    assert.equal(fs.readlinkSync(path.join(cwd, 'runs', 'last')), runs[0]);
    assert.ok(fs.existsSync(path.join(cwd, 'runs', 'last', 'run.json')));
  });
});
