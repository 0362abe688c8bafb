// A healthy rank aborted because another failed says so in one line, even when the script does not catch
// the rejection; the stack stays for JOULE_DEBUG=1, and the rank's last records still reach the run.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { joule } from '../helpers/run';

const fixture = path.join(__dirname, 'fixtures', 'uncaught-abort.js');

describe('joule launch: an aborted rank\'s output', function () {
  this.timeout(60_000);

  it('one line for the aborted rank, no stack dump; its energy so far is in run.json', async () => {
    const runDir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'joule-abort-out-')), 'run');
    const result = await joule(['launch', '-n', '2', '--run-dir', runDir, '--', process.execPath, fixture]);
    assert.equal(result.code, 1, result.stderr);
    const rankZero = result.stderr.split('\n').filter((line) => line.startsWith('[0] '));
    assert.deepEqual(rankZero.map((line) => line.replace(/pid \d+/, 'pid N')), ['[0] joule: rank 0 aborted: rank 1 on host ' + os.hostname() + ' (pid N) exited with code 1; last activity: none reported; last barrier: "ready#0"']);
    const run = JSON.parse(fs.readFileSync(path.join(runDir, 'run.json'), 'utf8'));
    assert.ok(run.energy.totals.incompleteRanks.includes(0), 'rank 0 sent its progress before it left');
  });

  it('JOULE_DEBUG=1 keeps the stack', async () => {
    const runDir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'joule-abort-out-')), 'run');
    const result = await joule(['launch', '-n', '2', '--run-dir', runDir, '--', process.execPath, fixture], { JOULE_DEBUG: '1' });
    assert.equal(result.code, 1);
    assert.match(result.stderr, /\[0\] +at /);
  });
});
