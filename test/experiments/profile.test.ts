// Cluster profiles for experiments: the shipped a100/h100/local profiles validate and source every figure, the JSON schema agrees with the validator, `joule profile` lists, shows, validates and detects (fake NVML, private SLURM cluster).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Ajv from 'ajv';
import { isJouleError } from '../../src/errors';
import { parseCpuinfo } from '../../src/experiments/profile-detect';
import { knownProfiles, loadProfile, profilesDir, profileSchemaFile, validateProfile } from '../../src/slurm/profile';
import { fakeNvml, joule, run } from '../helpers/run';
import { useSlurmCluster } from '../helpers/slurm-cluster';

const schema = JSON.parse(fs.readFileSync(profileSchemaFile, 'utf8'));
const schemaAccepts = new Ajv({ allErrors: true, strict: false }).compile(schema);

function validatorProblems(value: unknown): string[] {
  try {
    validateProfile(value, 'test.json');
    return [];
  } catch (error) {
    assert.ok(isJouleError(error, 'JOULE_BAD_PROFILE'), String(error));
    return error.details.problems as string[];
  }
}

const a100 = () => structuredClone(loadProfile('a100')) as unknown as Record<string, any>;

describe('experiment profiles', () => {
  it('ships a100, h100 and local; each validates under the validator and the schema', () => {
    for (const name of ['a100', 'h100', 'local']) assert.ok(knownProfiles().includes(name), name);
    for (const name of knownProfiles()) {
      const raw = JSON.parse(fs.readFileSync(path.join(profilesDir, `${name}.json`), 'utf8'));
      assert.deepEqual(validatorProblems(raw), [], name);
      assert.ok(schemaAccepts(raw), `${name}: ${JSON.stringify(schemaAccepts.errors)}`);
    }
  });

  it('gives every figure of the two cluster profiles a source', () => {
    for (const name of ['a100', 'h100']) {
      const profile = loadProfile(name);
      const figures = [
        ...Object.entries(profile.node).filter(([, v]) => typeof v === 'number').map(([k]) => `node.${k}`),
        ...Object.entries(profile.interconnect ?? {}).filter(([, v]) => typeof v === 'number').map(([k]) => `interconnect.${k}`),
        'energy.pue',
        'energy.carbonIntensityGPerKWh',
      ];
      const sources = profile.sources ?? {};
      // A count without its own source is covered by the source of the figure it belongs to (the GPU model's page names the count).
      const covered = (field: string) => sources[field] ?? (field === 'node.gpusPerNode' ? sources['node.gpuModel'] : field === 'node.cpuSockets' ? sources['node.cpuModel'] : field === 'interconnect.adaptersPerNode' ? sources['interconnect.gbitPerS'] : undefined);
      for (const field of figures) assert.ok(covered(field), `${name}: ${field} has no source`);
    }
    // The two kinds of cluster people compare differ where they should.
    const [a, h] = [loadProfile('a100'), loadProfile('h100')];
    assert.equal(a.node.gpuTdpW, 400);
    assert.equal(h.node.gpuTdpW, 700);
    assert.equal(a.interconnect?.kind, 'InfiniBand HDR');
    assert.equal(h.interconnect?.kind, 'InfiniBand NDR');
    assert.equal(a.slurm?.gpuRequest, 'gres');
  });

  it('rejects the same mistakes in the validator and the schema, the validator naming each field path', () => {
    const cases: [string, (p: Record<string, any>) => void][] = [
      ['node.gpuTdpW', (p) => (p.node.gpuTdpW = -5)],
      ['node.cpuSockets', (p) => (p.node.cpuSockets = 1.5)],
      ['node.memoryGB', (p) => (p.node.memoryGB = 'lots')],
      ['interconnect.kind', (p) => delete p.interconnect.kind],
      ['interconnect.speed', (p) => (p.interconnect.speed = 200)],
      ['slurm.gpuRequest', (p) => (p.slurm.gpuRequest = 'gpus')],
      ['slurm.partition', (p) => (p.slurm.partition = 'a b')],
      ['sources.node.gpuTdpW', (p) => (p.sources['node.gpuTdpW'] = '  ')],
      ['energy.pue', (p) => (p.energy.pue = 0.8)],
      ['env.JOULE_JOB_SECRET', (p) => (p.env.JOULE_JOB_SECRET = 'x')],
      ['node.gpuTdpW', (p) => delete p.node.gpuTdpW],
      ['colour', (p) => (p.colour = 'blue')],
    ];
    for (const [field, mutate] of cases) {
      const profile = a100();
      mutate(profile);
      const problems = validatorProblems(profile);
      assert.ok(problems.some((problem) => problem.startsWith(`${field}:`)), `${field} not named in ${JSON.stringify(problems)}`);
      assert.equal(schemaAccepts(profile), false, `the schema accepted the mistake in ${field}`);
    }
    // A source for a field the profile does not have is a typo the validator catches (the schema cannot look across fields).
    const typo = a100();
    typo.sources['node.gpuTdp'] = 'datasheet';
    assert.ok(validatorProblems(typo).some((p) => p.startsWith('sources.node.gpuTdp:')));
  });

  describe('joule profile', () => {
    let dir = '';
    before(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'joule-profile-cli-'))));
    after(() => fs.rmSync(dir, { recursive: true, force: true }));

    it('validate: exit 2 with each problem under its file, field paths first; ok lines for good ones', async () => {
      const bad = a100();
      bad.name = 'mine';
      bad.node.gpusPerNode = -1;
      bad.energy.carbonIntensityGPerKWh = 'high';
      const file = path.join(dir, 'mine.json');
      fs.writeFileSync(file, JSON.stringify(bad));
      const result = await joule(['profile', 'validate', 'a100', file]);
      assert.equal(result.code, 2, result.stderr);
      assert.match(result.stdout, /^ok +.*a100\.json$/m);
      assert.match(result.stdout, new RegExp(`^INVALID +${file}$`, 'm'));
      assert.match(result.stdout, /^ {2}node\.gpusPerNode: must be an integer >= 0, got -1$/m);
      assert.match(result.stdout, /^ {2}energy\.carbonIntensityGPerKWh: /m);
      assert.match(result.stderr, /1 of 2 profile\(s\) invalid: .*\[JOULE_BAD_PROFILE\]/);
      const json = await joule(['profile', 'validate', '--json', file]);
      assert.equal(JSON.parse(json.stdout)[0].ok, false);
    });

    it('list and show: a profile dropped next to the shipped ones is listed; show prints each figure with its source', async () => {
      const mine = a100();
      mine.name = `user-test-${process.pid}`;
      const file = path.join(profilesDir, `${mine.name}.json`);
      fs.writeFileSync(file, JSON.stringify(mine));
      try {
        const list = JSON.parse((await joule(['profile', 'list', '--json'])).stdout) as { name: string; ok: boolean }[];
        assert.deepEqual(list.find((p) => p.name === mine.name)?.ok, true);
        assert.ok(list.some((p) => p.name === 'h100' && p.ok));
      } finally {
        fs.rmSync(file);
      }
      const show = await joule(['profile', 'show', 'h100']);
      assert.equal(show.code, 0, show.stderr);
      assert.match(show.stdout, /^node\.gpuTdpW +700 +NVIDIA H100 Tensor Core GPU datasheet/m);
      const unknown = await joule(['profile', 'show', 'atlantis']);
      assert.equal(unknown.code, 2);
      assert.match(unknown.stderr, /unknown profile "atlantis".*\[JOULE_UNKNOWN_PROFILE\]/);
    });

    it('detect: GPUs and power limits from NVML (fake, 3 GPUs), CPU from /proc/cpuinfo; the result validates and says what it assumed', async () => {
      const out = path.join(dir, 'here.json');
      const result = await joule(['profile', 'detect', '--name', 'here', '--out', out, '--json'], { JOULE_NVML_LIBRARY: fakeNvml, JOULE_FAKE_NVML_GPUS: '3' });
      assert.equal(result.code, 0, result.stderr);
      const { profile, assumed } = JSON.parse(result.stdout);
      assert.deepEqual(JSON.parse(fs.readFileSync(out, 'utf8')), profile);
      assert.equal(loadProfile(out).name, 'here');
      assert.equal(profile.node.gpusPerNode, 3);
      assert.equal(profile.node.gpuModel, 'Fake GPU 0 + Fake GPU 1 + Fake GPU 2');
      assert.equal(profile.node.gpuTdpW, 400); // the fake's enforced limit
      assert.match(profile.sources['node.gpuTdpW'], /nvmlDeviceGetEnforcedPowerLimit/);
      const cpu = parseCpuinfo(fs.readFileSync('/proc/cpuinfo', 'utf8'));
      assert.equal(profile.node.cpuModel, cpu.model);
      assert.ok(assumed.includes('energy.pue') && assumed.includes('node.cpuTdpWPerCore'));
      assert.equal(profile.slurm, undefined);
    });

    it('detect without NVML: no GPUs, and the source says why', async () => {
      const result = await joule(['profile', 'detect', '--json'], { JOULE_NVML_LIBRARY: path.join(dir, 'absent.so') });
      assert.equal(result.code, 0, result.stderr);
      const { profile } = JSON.parse(result.stdout);
      assert.equal(profile.node.gpusPerNode, 0);
      assert.match(profile.sources['node.gpusPerNode'], /NVML unusable/);
    });
  });

  it('parses /proc/cpuinfo: sockets and physical cores, logical CPUs when a VM hides the topology', () => {
    const block = (cpu: number, socket: number, core: number) => `processor\t: ${cpu}\nmodel name\t: Intel(R) Xeon(R) Platinum 8468\nphysical id\t: ${socket}\ncore id\t\t: ${core}\n`;
    // Two sockets, two cores each, two hyperthreads per core.
    const text = [0, 1, 2, 3, 4, 5, 6, 7].map((cpu) => block(cpu, cpu >> 2, (cpu >> 1) & 1)).join('\n');
    assert.deepEqual(parseCpuinfo(text), { model: 'Intel(R) Xeon(R) Platinum 8468', sockets: 2, cores: 4, physical: true });
    assert.deepEqual(parseCpuinfo('processor\t: 0\nmodel name\t: vCPU\n\nprocessor\t: 1\nmodel name\t: vCPU\n'), { model: 'vCPU', sockets: 1, cores: 2, physical: false });
  });

  describe('detect on the private SLURM cluster', function () {
    const cluster = useSlurmCluster();

    it('inside a job: partition from SLURM, cores from scontrol show node', async () => {
      const { env, partition } = cluster();
      const result = await run('srun', ['-N1', '-n1', '-w', 'n2', process.execPath, path.join(__dirname, '..', '..', 'bin', 'joule.js'), 'profile', 'detect', '--name', 'privatecluster', '--json'], { env, timeoutMs: 60_000 });
      assert.equal(result.code, 0, result.stderr);
      const { profile } = JSON.parse(result.stdout);
      assert.equal(profile.slurm.partition, partition);
      const node = (await run('scontrol', ['show', 'node', 'n2', '-o'], { env })).stdout;
      const sockets = Number(/\bSockets=(\d+)/.exec(node)![1]);
      const coresPerSocket = Number(/\bCoresPerSocket=(\d+)/.exec(node)![1]);
      assert.equal(profile.node.cpuCoresPerNode, sockets * coresPerSocket);
      assert.match(profile.sources['node.cpuCoresPerNode'], /scontrol show node n2/);
      assert.match(profile.description, /SLURM node n2, partition joule/);
      assert.deepEqual(validatorProblems(profile), []);
    });
  });
});
