// The JOULE_* registry (src/env.ts): values parsed or refused with a code, defaults, every reader going
// through it, every variable native code or the launcher uses listed, and README's table generated from it.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import os from 'node:os';
import { envDefault, envNames, envTable, nativeEnvNames, readEnv } from '../src/env';
import { knownErrorCode } from '../src/errors';
import { packageRoot } from '../src/paths';
import { joule } from './helpers/run';

function files(dir: string, pattern: RegExp): string[] {
  return fs.readdirSync(path.join(packageRoot, dir), { withFileTypes: true }).flatMap((entry) => {
    const relative = path.join(dir, entry.name);
    if (entry.isDirectory()) return files(relative, pattern);
    return pattern.test(entry.name) ? [relative] : [];
  });
}

const read = (file: string) => fs.readFileSync(path.join(packageRoot, file), 'utf8');

describe('environment registry', () => {
  it('parses values, applies defaults, and refuses bad values with JOULE_BAD_ARGUMENT naming the variable and the rule', () => {
    assert.equal(readEnv('JOULE_HEARTBEAT_S', {}), 2);
    assert.equal(readEnv('JOULE_HEARTBEAT_S', { JOULE_HEARTBEAT_S: '0.5' }), 0.5);
    assert.equal(readEnv('JOULE_COMM_BACKEND', { JOULE_COMM_BACKEND: '' }), 'auto');
    assert.equal(readEnv('JOULE_GPU_COUNT', {}), undefined);
    assert.equal(readEnv('JOULE_SECURE', { JOULE_SECURE: '1' }), true);
    assert.deepEqual(readEnv('JOULE_COORD', { JOULE_COORD: 'tcp://n1:20001' }), { host: 'n1', port: 20001 });
    assert.equal(envDefault('JOULE_JOIN_TIMEOUT_S'), 120);
    const refusals: [Parameters<typeof readEnv>[0], string, RegExp][] = [
      ['JOULE_HEARTBEAT_S', 'soon', /^JOULE_HEARTBEAT_S="soon" must be a number of seconds >= 0.05$/],
      ['JOULE_TCP_PIECE_BYTES', '100', /^JOULE_TCP_PIECE_BYTES="100" must be an integer of bytes >= 4096$/],
      ['JOULE_HEARTBEAT_MISSES', '2.5', /must be an integer >= 1/],
      ['JOULE_COMM_BACKEND', 'mpi', /^JOULE_COMM_BACKEND="mpi" must be one of auto, shm, tcp, nccl$/],
      ['JOULE_POWER', '0', /must be one of on, off/],
      ['JOULE_SECURE', 'yes', /must be 1 or 0/],
      ['JOULE_COORD', 'n1:20001', /must look like tcp:\/\/HOST:PORT/],
      ['JOULE_ENERGY_PROFILE', '{pue', /is not JSON/],
      ['JOULE_CAST_PATH', 'sse2', /must be one of scalar, avx2, avx512bf16, avx512/],
    ];
    for (const [name, raw, message] of refusals) {
      assert.throws(() => readEnv(name, { [name]: raw }), (error: Error & { code?: string }) => error.code === 'JOULE_BAD_ARGUMENT' && message.test(error.message), `${name}=${raw}`);
    }
  });

  it('is checked by the launcher before any rank starts, so a rank that never reads it cannot hide a bad value', async function () {
    this.timeout(30_000);
    const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'joule-env-'));
    try {
      for (const [name, raw] of [['JOULE_POWER', 'bogus'], ['JOULE_CPU_BIND', 'bogus']]) {
        const runDir = path.join(scratch, name);
        const r = await joule(['launch', '-n', '1', '--run-dir', runDir, '--', 'true'], { [name]: raw });
        assert.equal(r.code, 2, `${name}=${raw}: ${r.stderr}`);
        assert.match(r.stderr, new RegExp(`${name}="${raw}" must be one of .*\\[JOULE_BAD_ARGUMENT\\]`));
        assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
        assert.ok(!fs.existsSync(runDir), 'no run directory for a job that never started');
      }
    } finally {
      fs.rmSync(scratch, { recursive: true, force: true });
    }
  });

  it('is the only reader: no JOULE_* variable is read from the environment elsewhere in src/ or launch/', () => {
    const offenders: string[] = [];
    for (const file of [...files('src', /\.ts$/), ...files('launch', /\.ts$/)]) {
      if (file === path.join('src', 'env.ts')) continue;
      read(file)
        .split('\n')
        .forEach((line, i) => {
          // A read: process.env.JOULE_X, env.JOULE_X or env['JOULE_X'] not being assigned.
          const match = /\b(?:process\.env|env)(?:\.|\[')(JOULE_[A-Z0-9_]+)/.exec(line);
          if (match && !/^'?\]?\s*(?:\?\?|\|\|)?=[^=]/.test(line.slice(match.index + match[0].length))) offenders.push(`${file}:${i + 1}: ${line.trim()}`);
        });
    }
    assert.deepEqual(offenders, []);
  });

  it('lists every variable native code reads and every one the launcher sets', () => {
    const known = new Set<string>(envNames);
    const missing: string[] = [];
    for (const file of files('native', /\.(cc|h|cu)$/)) {
      for (const [, name] of read(file).matchAll(/"(JOULE_[A-Z0-9_]+)"/g)) if (!knownErrorCode(name) && !known.has(name)) missing.push(`${file}: ${name}`);
    }
    for (const file of ['launch/launcher.ts']) {
      for (const [, name] of read(file).matchAll(/\b(JOULE_[A-Z0-9_]+): /g)) if (!known.has(name)) missing.push(`${file}: ${name}`);
    }
    assert.deepEqual(missing, []);
  });

  it('holds native code to the registry: it reads settings only through native/settings.h, exactly the names listed as native-read, with the same defaults', () => {
    const reads = new Map<string, string>();
    const rawReads: string[] = [];
    for (const file of files('native', /\.(cc|h|cu)$/)) {
      const source = read(file);
      if (file !== path.join('native', 'settings.h') && /\bgetenv\s*\(/.test(source)) rawReads.push(file);
      // Setting("JOULE_X", "fallback"); the library loaders pass their variable to Candidates(), which reads it with fallback "".
      for (const [, name, fallback] of source.matchAll(/\bSetting\("(JOULE_[A-Z0-9_]+)", "([^"]*)"\)/g)) reads.set(name, fallback);
      for (const [, name] of source.matchAll(/\bLoadOnce\("(JOULE_[A-Z0-9_]+)"/g)) reads.set(name, '');
    }
    assert.deepEqual(rawReads, [], 'getenv outside native/settings.h');
    assert.deepEqual([...reads.keys()].sort(), [...nativeEnvNames].sort(), 'names native code reads vs the registry entries marked readBy native');
    for (const [name, fallback] of reads) assert.equal(String(envDefault(name as (typeof nativeEnvNames)[number]) ?? ''), fallback, `${name}: native fallback vs the registry's default`);
  });

  it("README's table is the one generated from the registry (npm run docs:env)", () => {
    const readme = read('README.md');
    const block = /<!-- env-table:start -->\n([\s\S]*?)\n<!-- env-table:end -->/.exec(readme);
    assert.ok(block, 'README.md has no env-table block');
    assert.equal(block[1], envTable());
  });
});
