// Random flags and values (a fixed seed, so a failure reproduces) on joule's commands: whatever comes in,
// the answer is an exit code of 0/1/2/3, no stack trace, and no hang.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { joule } from '../helpers/run';
import { seededRandom as random } from '../helpers/random';


const values = ['0', '1', '-1', '3', '2.5', '1e9', 'NaN', 'abc', '', '8', '1K', '64', '-5', 'f16', 'sum', 'xor', 'native', '25:99:99', '/nonexistent', '/proc/x', '--', '=', 'local', 'nosuchprofile'];

// Each command with the flags it takes (and a few it does not); sizes stay small so every case is quick.
const commands: { base: string[]; flags: string[]; tail?: string[] }[] = [
  { base: ['info'], flags: ['--json', '--bogus'] },
  { base: ['trace'], flags: ['--out', '--json'], tail: ['RUN'] },
  { base: ['bench', 'allreduce', '-b', '8', '-e', '64', '-n', '1', '-w', '0'], flags: ['-b', '-e', '-f', '-i', '-n', '-w', '-c', '-d', '-o', '-r', '--backend', '--wire', '--loop', '--json', '-N'] },
  { base: ['bench', 'cast', '--sizes', '4KiB', '--seconds', '0.001'], flags: ['--sizes', '--direction', '--device', '--seconds', '--stats', '--json', '--threads'] },
  { base: ['bench', 'sampler', '--rates', '10', '--duration', '0.05'], flags: ['--rates', '--duration', '--gpus', '--rapl', '--json'] },
  { base: ['sbatch', '--dry-run'], flags: ['-N', '--ntasks-per-node', '--time', '--partition', '--profile', '--template', '-J', '--json'], tail: ['--', 'true'] },
  { base: ['launch', '--run-dir', 'RUNDIR'], flags: ['-n', '--heartbeat', '--heartbeat-misses', '--join-timeout', '--name', '--profile', '--launcher', '--idle-baseline', '--exit-grace', '--json'], tail: ['--', process.execPath, '-e', '0'] },
];

describe('CLI fuzz (fixed seed)', function () {
  this.timeout(600_000);

  it('40 random invocations: exit 0/1/2/3, no stack trace, none hangs', async () => {
    const next = random(20261202);
    const pick = <T>(list: T[]) => list[Math.floor(next() * list.length)];
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'joule-fuzz-'));
    const runDir = path.join(root, 'run-for-trace');
    fs.mkdirSync(runDir);
    fs.writeFileSync(path.join(runDir, 'power.jsonl'), '{"type":"power-channels","rank":0}\nnot json\n');
    for (let i = 0; i < 40; i++) {
      const command = pick(commands);
      const args = command.base.map((a) => (a === 'RUNDIR' ? path.join(root, `launch-${i}`) : a));
      for (let k = Math.floor(next() * 4); k > 0; k--) {
        const flag = pick(command.flags);
        args.push(flag);
        if (next() < 0.8) args.push(pick(values));
      }
      args.push(...(command.tail ?? []).map((a) => (a === 'RUN' ? runDir : a)));
      const what = `joule ${args.join(' ')}`;
      // A hang shows as the kill signal (the helper kills after its timeout), which is not an exit code.
      const result = await joule(args, {}, { cwd: root, timeoutMs: 120_000 });
      assert.equal(result.signal, null, `${what}: hung or crashed (${result.signal})\n${result.stderr}`);
      assert.ok([0, 1, 2, 3].includes(result.code!), `${what}: exit ${result.code}\n${result.stderr}`);
      assert.doesNotMatch(result.stderr, /\n\s+at .*:\d+:\d+\)?\n/, `${what}: a stack trace\n${result.stderr}`);
    }
  });
});
