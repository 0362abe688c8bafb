// The run record's schemas (src/report/schema): every file a launched run, a failed run and a rank hosting
// its own coordinator write validates, config has one shape whoever hosted the coordinator, and the
// schemas reject what they must.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { recordProblems, runDirProblems, runJsonProblems } from '../../src/report/schema';
import { fakeNvml, joule, run } from '../helpers/run';
import { assertValidRunDir } from '../helpers/run-schema';

const hello = path.join(__dirname, '..', 'launch', 'fixtures', 'hello.js');

describe('run record schema', function () {
  this.timeout(60_000);
  let dir = '';
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'joule-schema-'))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  const readJson = (file: string) => JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;

  it('validates a launched run with logs, metrics, a named stream and power records (fake NVML GPUs)', async () => {
    const runDir = path.join(dir, 'run');
    const result = await joule(['launch', '-n', '2', '--run-dir', runDir, '--', process.execPath, hello], { JOULE_NVML_LIBRARY: fakeNvml, JOULE_GPU_COUNT: '2' });
    assert.equal(result.code, 0, result.stderr);
    for (const file of ['events.jsonl', 'metrics.jsonl', 'samples.jsonl', 'power.jsonl']) assert.ok(fs.existsSync(path.join(runDir, file)), file);
    assertValidRunDir(runDir);
    const manifest = readJson(path.join(runDir, 'run.json'));
    assert.equal(manifest.status, 'succeeded');
    assert.ok((manifest.energy as { totals: { measuredJ: number } }).totals.measuredJ > 0);
  });

  it('validates a failed run (a rank exits 3) and a rank-0-hosted run (JOULE_RUN_DIR, no launcher) with the same config fields', async () => {
    const failed = path.join(dir, 'failed');
    const result = await joule(['launch', '-n', '2', '--run-dir', failed, '--', process.execPath, '-e', 'process.exit(3)'], { JOULE_POWER: 'off' });
    assert.equal(result.code, 3);
    assertValidRunDir(failed);
    assert.equal((readJson(path.join(failed, 'run.json')).failure as { kind: string }).kind, 'exit');

    const alone = path.join(dir, 'alone');
    const script = `require(${JSON.stringify(path.resolve(__dirname, '..', '..', 'dist', 'src', 'index.js'))}).init().then((w) => w.finalize())`;
    const own = await run(process.execPath, ['-e', script], { env: { ...process.env, JOULE_RUN_DIR: alone, JOULE_POWER: 'off' } });
    assert.equal(own.code, 0, own.stderr);
    assertValidRunDir(alone);
    const launcherConfig = readJson(path.join(failed, 'run.json')).config as Record<string, unknown>;
    const hostedConfig = readJson(path.join(alone, 'run.json')).config as Record<string, unknown>;
    assert.deepEqual(Object.keys(hostedConfig).sort(), Object.keys(launcherConfig).sort());
    assert.equal(hostedConfig.abortGraceS, null);
    assert.equal(hostedConfig.heartbeatS, launcherConfig.heartbeatS);
  });

  it('knows every event type the launcher, the coordinator and the journal write (events.jsonl)', () => {
    const root = path.resolve(__dirname, '..', '..');
    const writers = ['launch/launcher.ts', 'src/coord/server.ts', 'src/report/journal.ts'];
    const written = new Set<string>();
    for (const file of writers) for (const [, type] of fs.readFileSync(path.join(root, file), 'utf8').matchAll(/\b(?:event|record)\('([a-z-]+)'/g)) written.add(type);
    assert.ok(written.has('rank-output') && written.has('rank-exited'), `found ${[...written]}`);
    const problems = [...written].flatMap((type) => recordProblems('events.jsonl', { time: new Date().toISOString(), type }, 1).filter((p) => p.includes('/type')));
    assert.deepEqual(problems, []);
  });

  it('rejects a config of another shape, an unknown event and a power window without its model figure', () => {
    const runDir = path.join(dir, 'bad');
    fs.mkdirSync(runDir);
    const manifest = {
      schema: 'joule.run/1', runId: 'x', name: 'x', status: 'running', command: [], cwd: '/', profile: null,
      config: { size: 1, secure: false, iface: null, heartbeatMs: 2000, heartbeatMisses: 3, joinTimeoutS: 0, abortGraceS: null, pretendNodes: 1 },
      launcher: { mode: 'srun', host: 'h', pid: 1 }, size: 1, hosts: [], ranks: [], gpuBinding: { rules: [] }, versions: { joule: '0', node: 'v20' },
      git: { cwd: null, joule: null }, environment: {}, startedAt: '2026-12-02T18:00:00.000Z', endedAt: null, durationS: null, exitCode: null,
      failure: null, streams: [], energy: null, droppedFrames: 0,
    };
    const problems = runJsonProblems(manifest);
    assert.ok(problems.some((p) => /config.*heartbeatMs/.test(p)), problems.join('\n'));
    assert.ok(problems.some((p) => /config.*heartbeatS/.test(p)), problems.join('\n'));
    assert.deepEqual(recordProblems('events.jsonl', { time: '2026-12-02T18:00:00.000Z', type: 'rank-joined', rank: 0, host: 'h', pid: 1, caps: {} }, 1), []);
    assert.ok(recordProblems('events.jsonl', { time: '2026-12-02T18:00:00.000Z', type: 'rank-joinned' }, 1).length > 0);
    const window = { time: '2026-12-02T18:00:00.000Z', rank: 0, type: 'power-window', name: 'w', startS: 1, endS: 2, durationS: 1, energyJ: null, bySource: {}, coverage: 1, figures: [] };
    assert.ok(recordProblems('power.jsonl', window, 3).some((p) => /modelEnergyJ/.test(p)));
    fs.writeFileSync(path.join(runDir, 'run.json'), JSON.stringify(manifest));
    // A torn last line is what a crash leaves: allowed; a torn line before it is not.
    fs.writeFileSync(path.join(runDir, 'events.jsonl'), '{"time":"2026-12-02T18:00:00.000Z","type":"warning","message":"m"}\n{"time":"2026-12-');
    assert.ok(!runDirProblems(runDir).some((p) => p.startsWith('events.jsonl')));
    fs.writeFileSync(path.join(runDir, 'events.jsonl'), '{"time":"2026\n{"time":"2026-12-02T18:00:00.000Z","type":"warning","message":"m"}\n');
    assert.ok(runDirProblems(runDir).includes('events.jsonl:1: not JSON'));
  });
});
