// --secure is checked on the wire: the coordinator's ZMTP greeting names the CURVE mechanism (NULL without
// --secure), so a plain client cannot talk to it, and the job still runs.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { jouleBin } from '../helpers/run';

const behave = path.join(__dirname, 'fixtures', 'behave.js');

/** The security mechanism a ZMTP 3 peer announces: bytes 12-31 of its greeting, NUL-padded ASCII. */
function greetingMechanism(host: string, port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, host);
    let received = Buffer.alloc(0);
    socket.on('connect', () => {
      // Our own greeting's first part (signature and major version), so the peer sends all of its own.
      socket.write(Buffer.from([0xff, 0, 0, 0, 0, 0, 0, 0, 1, 0x7f, 3]));
    });
    socket.on('data', (chunk) => {
      received = Buffer.concat([received, chunk]);
      if (received.length >= 32) {
        socket.destroy();
        resolve(received.subarray(12, 32).toString('latin1').replace(/\0+$/, ''));
      }
    });
    socket.on('error', reject);
  });
}

async function mechanismOfRun(secure: boolean): Promise<string> {
  const runDir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'joule-secure-')), 'run');
  const child = spawn(process.execPath, [jouleBin, 'launch', '-n', '2', ...(secure ? ['--secure'] : []), '--run-dir', runDir, '--', process.execPath, behave, 'gate'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => (stdout += chunk));
  child.stderr.on('data', (chunk) => (stderr += chunk));
  const closed = new Promise<number | null>((resolve) => child.on('close', resolve));
  try {
    const deadline = Date.now() + 45_000;
    while (!(/ready 0/.test(stdout) && /ready 1/.test(stdout))) {
      assert.ok(Date.now() < deadline, `ranks never got ready: ${stderr}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    const endpoint: string = JSON.parse(fs.readFileSync(path.join(runDir, 'run.json'), 'utf8')).launcher.coordinator;
    const [, host, port] = /^tcp:\/\/(.+):(\d+)$/.exec(endpoint)!;
    const mechanism = await greetingMechanism(host, Number(port));
    fs.writeFileSync(path.join(runDir, 'go'), '');
    assert.equal(await closed, 0, stderr);
    return mechanism;
  } finally {
    child.kill('SIGKILL');
  }
}

describe('joule launch --secure on the wire', function () {
  this.timeout(90_000);

  it('the coordinator greets with CURVE under --secure and NULL without it; both jobs succeed', async () => {
    assert.equal(await mechanismOfRun(true), 'CURVE');
    assert.equal(await mechanismOfRun(false), 'NULL');
  });
});
