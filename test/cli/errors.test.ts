// Bad input and damaged run directories get one clear line with a code, never a stack trace.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { joule } from '../helpers/run';

function tempRoot(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'joule-errors-'));
}

const noStack = (stderr: string) => assert.doesNotMatch(stderr, /\n\s+at .*:\d+:\d+/, `a stack trace: ${stderr}`);

const channels = { type: 'power-channels', rank: 0, clock: { monotonicS: 100, epochMs: Date.UTC(2026, 0, 1) }, channels: [{ label: 'cpu', kind: 'process' }] };
const window = { type: 'power-window', rank: 0, name: 'step', path: 'step', startS: 101, durationS: 0.5, energyJ: null, modelEnergyJ: 1 };

describe('CLI errors', function () {
  this.timeout(60_000);

  it('joule trace on a damaged power.jsonl: bad lines reported by number and skipped, exit 1, spans on the right date', async () => {
    const dir = tempRoot();
    fs.writeFileSync(path.join(dir, 'power.jsonl'), [JSON.stringify(channels), '{"type": "power-wind', JSON.stringify(window), '[1, 2]', '{"type":"power-win'].join('\n'));
    const result = await joule(['trace', dir, '--out=-']);
    assert.equal(result.code, 1, result.stderr);
    assert.match(result.stderr, /line 2 skipped: /);
    assert.match(result.stderr, /line 4 skipped: not a JSON object/);
    assert.match(result.stderr, /line 5 skipped: cut short/);
    const trace = JSON.parse(result.stdout);
    const span = trace.traceEvents.find((e: { ph: string }) => e.ph === 'X');
    assert.equal(new Date(span.ts / 1000).getUTCFullYear(), 2026);
  });

  it('joule trace leaves out, and names, a rank without its clock record instead of placing it in 1970', async () => {
    const dir = tempRoot();
    fs.writeFileSync(path.join(dir, 'power.jsonl'), `${JSON.stringify(window)}\n`);
    const result = await joule(['trace', dir, '--out=-']);
    assert.equal(result.code, 1, result.stderr);
    assert.match(result.stderr, /rank\(s\) 0 have no power-channels record/);
    assert.equal(JSON.parse(result.stdout).traceEvents.filter((e: { ph: string }) => e.ph === 'X').length, 0);
  });

  it('joule trace --out to a path it cannot write: exit 2 with the path, no stack', async () => {
    const dir = tempRoot();
    fs.writeFileSync(path.join(dir, 'power.jsonl'), `${JSON.stringify(channels)}\n`);
    const result = await joule(['trace', dir, '--out', path.join(dir, 'power.jsonl', 'trace.json')]);
    assert.equal(result.code, 2, result.stderr);
    assert.match(result.stderr, /cannot write the trace to .*trace\.json: .*\[JOULE_BAD_ARGUMENT\]/);
    noStack(result.stderr);
  });

  it('an unexpected error (power.jsonl is a folder) is one line, with the stack only under JOULE_DEBUG', async () => {
    const dir = tempRoot();
    fs.mkdirSync(path.join(dir, 'power.jsonl'));
    const result = await joule(['trace', dir]);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /EISDIR/);
    noStack(result.stderr);
    const debug = await joule(['trace', dir], { JOULE_DEBUG: '1' });
    assert.match(debug.stderr, /\n\s+at /);
  });

  it('bench -b below one element, sbatch --time 25:99:99: exit 2 with the reason', async () => {
    const small = await joule(['bench', 'allreduce', '-b', '3', '-e', '8']);
    assert.equal(small.code, 2, small.stderr);
    assert.match(small.stderr, /-b 3: smaller than one f32 element \(4 bytes\)/);
    const time = await joule(['sbatch', '--time', '25:99:99', '--dry-run', '--', 'true']);
    assert.equal(time.code, 2, time.stderr);
    assert.match(time.stderr, /--time 25:99:99: .*under 60/);
  });

  it('bench sampler --gpus 0 --rapl where neither exists (pinned): exit 1 naming both, not a benchmark of nothing', async () => {
    const result = await joule(['bench', 'sampler', '--gpus', '0', '--rapl', '--rates', '10', '--duration', '0.1']);
    assert.equal(result.code, 1, result.stderr);
    assert.match(result.stderr, /--gpus 0: .*--rapl: .*\[JOULE_BACKEND_UNAVAILABLE\]/);
  });

  it('launch without `--` before the rank command says to put it there', async () => {
    const result = await joule(['launch', '-n', '2', 'node', '-e', '1']);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /unknown option '-e'\nPut the rank command after `--`/);
  });
});
