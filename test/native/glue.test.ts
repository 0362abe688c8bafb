// The native entry points check every argument at the glue boundary: wrong types, sizes and enum values
// give one coded error (JOULE_BAD_ARGUMENT naming the argument), never a crash, a hang or an uncoded throw.
import assert from 'node:assert/strict';
import { native } from '../../src/native';
import { seededRandom as random } from '../helpers/random';


const junk: unknown[] = [undefined, null, true, 'x', '', -1, 0, 0.5, 1, 2, 7, 42, 1e6, 2 ** 31, 2 ** 53 + 2, -(2 ** 31) - 1, NaN, Infinity, -Infinity, [], [1, 'a'], {}, { length: 3 }, () => 1, new Float32Array(1), new Uint16Array(3), new Float64Array(0), new Uint8Array(16)];

/** Calls `call`; a throw or a rejection must carry a JOULE_* code. Returns the code, or 'ok'. */
async function outcome(what: string, call: () => unknown): Promise<string> {
  let error: unknown;
  try {
    const result = call();
    if (result instanceof Promise) await result;
    return 'ok';
  } catch (caught) {
    error = caught;
  }
  const code = (error as { code?: unknown })?.code;
  assert.ok(typeof code === 'string' && code.startsWith('JOULE_'), `${what}: threw without a joule code: ${String(error)}`);
  return code;
}

describe('native glue: argument checks', function () {
  this.timeout(120_000);
  const addon = native();

  it('submit({dtype: 42, count: 1e6}) on a 1-element buffer is refused, naming the field; so is a count past the buffer', async () => {
    const comm = new addon.NativeComm({ backend: 'shm', rank: 0, size: 1, name: `/joule-glue-${process.pid}`, create: true, chunkBytes: 65536, smallBytes: 32768, p2pBytes: 65536 });
    try {
      const buffer = new Float32Array(1);
      const base = { kind: 1, dtype: 0, redop: 0, wire: 0, count: 1, root: 0, tag: 0, timeoutS: 10, in: buffer, out: buffer };
      await assert.rejects(async () => comm.submit({ ...base, dtype: 42, count: 1e6 } as never), (error: Error & { code?: string; argument?: string }) => {
        assert.equal(error.code, 'JOULE_BAD_ARGUMENT');
        assert.equal(error.argument, 'submit(spec).dtype');
        assert.match(error.message, /submit\(spec\)\.dtype: expected an integer from 0 to 5, got number 42/);
        return true;
      });
      await assert.rejects(async () => comm.submit({ ...base, count: 1e6 } as never), { code: 'JOULE_BAD_ARGUMENT', message: /buffer too small/ });
      await assert.rejects(async () => comm.submit({ ...base, count: 'many' } as never), { code: 'JOULE_BAD_ARGUMENT', argument: 'submit(spec).count' } as never);
      // The communicator is still usable after refused calls.
      const done = await comm.submit(base as never);
      assert.equal(typeof done.seconds, 'number');
    } finally {
      comm.close();
    }
  });

  it('a wrong config field says which one: NativeComm, PowerSampler', async () => {
    assert.throws(() => new addon.NativeComm({ backend: 'tcp', rank: 3, size: 2, token: 't', pieceBytes: 1, smallBytes: 1, halvingBytes: 1 } as never), {
      code: 'JOULE_BAD_ARGUMENT',
      message: /NativeComm\(config\)\.rank: expected an integer from 0 to 1, got number 3/,
    });
    assert.throws(() => new addon.PowerSampler({ periodS: 'fast', auxPeriodS: 0.1, gpus: [], rapl: false, powercapRoot: '/x', capacityTicks: 64 } as never), {
      code: 'JOULE_BAD_ARGUMENT',
      message: /PowerSampler\(options\)\.periodS: expected a number, got string/,
    });
  });

  it('fuzz: every entry point with random wrong arguments (fixed seed) answers with a coded error or works', async () => {
    const next = random(14);
    const pick = () => junk[Math.floor(next() * junk.length)];
    const args = (n: number) => Array.from({ length: n }, pick);
    const entries: [string, (a: unknown[]) => unknown][] = [
      ['castSync', (a) => (addon.castSync as (...x: unknown[]) => unknown)(...a)],
      ['castAsync', (a) => (addon.castAsync as (...x: unknown[]) => unknown)(...a)],
      ['castBench', (a) => (addon.castBench as (...x: unknown[]) => unknown)(...a)],
      ['copyBench', (a) => (addon.copyBench as (...x: unknown[]) => unknown)(...a.slice(0, 2), 1, a[3])],
      ['cudaCast', (a) => (addon.cudaCast as (...x: unknown[]) => unknown)(...a)],
      ['cudaCastBench', (a) => (addon.cudaCastBench as (...x: unknown[]) => unknown)(...a.slice(0, 3), 1)],
      ['gpuPowerLimit', (a) => (addon.gpuPowerLimit as (...x: unknown[]) => unknown)(...a.slice(0, 2))],
      ['PowerSampler', (a) => new (addon.PowerSampler as unknown as new (x: unknown) => unknown)({ periodS: a[0], auxPeriodS: a[1], gpus: a[2], rapl: a[3], powercapRoot: a[4], capacityTicks: a[5] })],
      ['NativeComm', (a) => new (addon.NativeComm as unknown as new (x: unknown) => unknown)({ backend: pick(), rank: a[0], size: a[1], token: a[2], name: a[3], create: a[4], pieceBytes: a[5], smallBytes: a[6], halvingBytes: a[7], chunkBytes: a[5], p2pBytes: a[6] })],
      // Only wrong inputs: a right one would bind this test process.
      ['bindProcess', (a) => addon.bindProcess([a[0] === 0 ? -1 : a[0]] as never)],
    ];
    const codes = new Map<string, number>();
    for (let i = 0; i < 600; i++) {
      const [name, call] = entries[i % entries.length];
      const a = args(8);
      const code = await outcome(`${name}(${a.map((v) => (typeof v === 'object' && v !== null ? v.constructor.name : String(v))).join(', ')})`, () => {
        const made = call(a) as { close?: () => void } | undefined;
        // A communicator that did start (valid random arguments) is closed again.
        if (made && typeof made === 'object' && typeof made.close === 'function' && name === 'NativeComm') made.close();
        return made;
      });
      codes.set(code, (codes.get(code) ?? 0) + 1);
    }
    assert.ok((codes.get('JOULE_BAD_ARGUMENT') ?? 0) > 300, `mostly refused: ${JSON.stringify([...codes])}`);
  });
});
