// Hostlist expansion and compression: a table of SLURM's syntax, errors with positions, and a comparison with scontrol itself.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { compressHostlist, expandHostlist, parseTasksPerNode } from '../../src/slurm/hostlist';
import { expandHostlist as exported, compressHostlist as exportedCompress } from '../../src/index';
import { isJouleError } from '../../src/errors';
import { skipBecause } from '../helpers/skip';

const expansions: [string, string[]][] = [
  ['n1', ['n1']],
  ['n[1-3]', ['n1', 'n2', 'n3']],
  ['n[01-04,07]', ['n01', 'n02', 'n03', 'n04', 'n07']],
  ['n[9-11]', ['n9', 'n10', 'n11']],
  ['n[098-101]', ['n098', 'n099', 'n100', 'n101']],
  ['n[8-010]', ['n8', 'n9', 'n10']],
  ['n[3,1,2]', ['n3', 'n1', 'n2']],
  ['n[1-3],n2', ['n1', 'n2', 'n3', 'n2']],
  ['gpu[1-2],cpu-a[01-03]', ['gpu1', 'gpu2', 'cpu-a01', 'cpu-a02', 'cpu-a03']],
  ['rack[1-2]-n[1-3]', ['rack1-n1', 'rack1-n2', 'rack1-n3', 'rack2-n1', 'rack2-n2', 'rack2-n3']],
  ['a[1-2]b[3-4]c[5-6]', ['a1b3c5', 'a1b3c6', 'a2b3c5', 'a2b3c6', 'a1b4c5', 'a1b4c6', 'a2b4c5', 'a2b4c6']],
  ['[1-3]', ['1', '2', '3']],
  ['n1[2-3]', ['n12', 'n13']],
  ['a b\tc,,d,', ['a', 'b', 'c', 'd']],
  ['', []],
];

const compressions: [string[], string][] = [
  [['n1', 'n2', 'n3'], 'n[1-3]'],
  [['n3', 'n1', 'n2'], 'n[3,1-2]'],
  [['n1', 'n2', 'n3', 'n2'], 'n[1-3,2]'],
  [['n01', 'n02', 'n3', 'n4'], 'n[01-02,3-4]'],
  [['n9', 'n10', 'n11'], 'n[9-11]'],
  [['n1', 'm1', 'n2'], 'n1,m1,n2'],
  [['rack1-n1', 'rack1-n2', 'rack2-n1'], 'rack1-n[1-2],rack2-n1'],
  [['a', 'b', 'c1', 'c2'], 'a,b,c[1-2]'],
  [['n', 'n1'], 'n,n1'],
  [['n1', 'n1'], 'n[1,1]'],
  [[], ''],
];

/** Expressions scontrol itself rejects, with the position we report. */
const errors: [string, number][] = [
  ['n[3-1]', 2],
  ['n[]', 2],
  ['n[1,,2]', 4],
  ['n[1-2]x', 6],
  ['n[1-2-3]', 2],
  ['n[-1]', 2],
  ['n[[1-2]]', 2],
  ['n[0-65536]', 2],
  ['n[1x2]', 2],
  ['n[1-3', 1],
  ['n1-3]', 4],
  ['a[0-65535]b[0-65535]', 0],
];

describe('hostlist', () => {
  for (const [expr, hosts] of expansions) {
    it(`expands ${JSON.stringify(expr)}`, () => {
      assert.deepEqual(expandHostlist(expr), hosts);
    });
  }

  for (const [hosts, expr] of compressions) {
    it(`compresses ${hosts.join(',') || '(none)'} to ${JSON.stringify(expr)} and back`, () => {
      assert.equal(compressHostlist(hosts), expr);
      assert.deepEqual(expandHostlist(expr), hosts);
    });
  }

  for (const [expr, position] of errors) {
    it(`rejects ${JSON.stringify(expr)} at position ${position}`, () => {
      assert.throws(
        () => expandHostlist(expr),
        (error: unknown) => isJouleError(error, 'JOULE_BAD_HOSTLIST') && error.details.position === position && error.message.includes(`position ${position}`),
      );
    });
  }

  it('rejects host names that cannot be written in a hostlist', () => {
    assert.throws(() => compressHostlist(['n1', 'n[2]']), (error: unknown) => isJouleError(error, 'JOULE_BAD_HOSTLIST') && error.details.position === 1);
    assert.throws(() => compressHostlist(['']), (error: unknown) => isJouleError(error, 'JOULE_BAD_HOSTLIST'));
  });

  it('is exported from the package', () => {
    assert.equal(exported, expandHostlist);
    assert.equal(exportedCompress, compressHostlist);
  });

  it('parses SLURM_TASKS_PER_NODE', () => {
    assert.deepEqual(parseTasksPerNode('2(x3),1'), [2, 2, 2, 1]);
    assert.deepEqual(parseTasksPerNode('4'), [4]);
    assert.deepEqual(parseTasksPerNode('1,2(x2)'), [1, 2, 2]);
    for (const [bad, position] of [['2(x0)', 0], ['2,x', 2], ['', 0], ['2(3)', 0]] as const) {
      assert.throws(
        () => parseTasksPerNode(bad),
        (error: unknown) => isJouleError(error, 'JOULE_BAD_ARGUMENT') && error.details.position === position,
        bad,
      );
    }
  });

  describe('against scontrol', function () {
    // scontrol only needs a configuration file to expand hostlists, no running daemons.
    let conf = '';
    before(function () {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'joule-scontrol-'));
      conf = path.join(dir, 'slurm.conf');
      fs.writeFileSync(conf, 'ClusterName=hostlist\nSlurmctldHost=localhost\nNodeName=n1 CPUs=1\nPartitionName=p Nodes=n1\n', { mode: 0o644 });
      const probe = spawnSync('scontrol', ['--version'], { env: { ...process.env, SLURM_CONF: conf } });
      if (probe.error || probe.status !== 0) {
        skipBecause(this, `scontrol cannot run here (${probe.error?.message ?? probe.stderr.toString().trim()}); .ci/install-debian-packages.sh installs SLURM`);
      }
    });
    after(() => {
      if (conf) fs.rmSync(path.dirname(conf), { recursive: true, force: true });
    });

    const scontrol = (...args: string[]) => {
      const result = spawnSync('scontrol', ['--', ...args], { env: { ...process.env, SLURM_CONF: conf }, encoding: 'utf8' });
      const ok = result.status === 0 && !/Invalid hostlist/.test(result.stdout + result.stderr);
      return { ok, lines: result.stdout.split('\n').filter(Boolean) };
    };

    const table = [
      ...expansions.map(([expr]) => expr).filter((expr) => expr !== ''),
      'a[1-2]b[3-4]c[5-6]d[7-8]',
      'n[1-2,5-6]x[1,3]',
      'x[1-2]y[1-2],z[1-2]',
      'a[1-2].b[1-2]',
      'n[1-2]-[3-4]',
      'n[001]',
      'node[0001-0012,0100-0102]',
      'gpu-[0-1]-[00-03],login1',
    ];

    it('expands every expression of the table as `scontrol show hostnames` does, and compresses as `scontrol show hostlist`', () => {
      for (const expr of table) {
        const reference = scontrol('show', 'hostnames', expr);
        assert.ok(reference.ok, `scontrol rejected ${expr}`);
        const hosts = expandHostlist(expr);
        assert.deepEqual(hosts, reference.lines, expr);
        assert.equal(compressHostlist(hosts), scontrol('show', 'hostlist', hosts.join(',')).lines[0], expr);
      }
    });

    it('agrees with scontrol on 300 generated expressions (fixed seed), expanded and compressed', () => {
      // A small linear congruential generator: the same expressions on every run.
      let seed = 20261122;
      const next = (n: number) => {
        seed = (seed * 1103515245 + 12345) % 2147483648;
        return Math.floor(seed / 65536) % n; // the high bits: an LCG's low bits cycle quickly
      };
      const range = () => {
        const width = next(3);
        const lo = next(12);
        const pad = (n: number) => String(n).padStart(width, '0');
        return next(3) ? `${pad(lo)}-${pad(lo + next(4))}` : pad(lo);
      };
      const token = () => {
        let text = ['n', 'gpu', 'rack', 'a-b', 'x.y', 'c1', ''][next(7)];
        const groups = next(4);
        for (let g = 0; g < groups; g++) {
          text += `[${Array.from({ length: 1 + next(3) }, range).join(',')}]`;
          if (g < groups - 1) text += ['-', 'x', '.', 'n'][next(4)];
        }
        if (groups === 0) text += next(2) ? String(next(20)) : '';
        return text || 'h';
      };
      // Entries of a hostlist expand independently, so one scontrol call checks them all.
      const expr = Array.from({ length: 300 }, token).join(',');
      const hosts = expandHostlist(expr);
      assert.ok(hosts.length > 1000, `only ${hosts.length} hosts`);
      assert.deepEqual(hosts, scontrol('show', 'hostnames', expr).lines);
      assert.equal(compressHostlist(hosts), scontrol('show', 'hostlist', hosts.join(',')).lines[0]);
    });

    it('rejects every expression scontrol rejects', () => {
      for (const [expr] of errors) {
        if (expr === 'n[1-3' || expr === 'n1-3]' || expr === 'a[0-65535]b[0-65535]') continue; // scontrol accepts these by accident or would run out of memory
        assert.equal(scontrol('show', 'hostnames', expr).ok, false, `scontrol accepts ${expr}`);
      }
    });
  });
});
