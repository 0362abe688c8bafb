// The capability report with and without the fake GPU libraries: missing, symbol missing, present.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { slurmEnvironment } from '../../src/info/report';
import { fakeNccl, fakeNvml, fakeNvmlMissingSymbol, joule } from '../helpers/run';

async function infoJson(env: NodeJS.ProcessEnv) {
  const result = await joule(['info', '--json'], env);
  assert.equal(result.code, 0, result.stderr);
  return JSON.parse(result.stdout);
}

describe('joule info', () => {
  it('reports versions, build, CPU and every backend with a reason when unusable', async () => {
    const report = await infoJson({ JOULE_NVML_LIBRARY: '/nonexistent/libnvidia-ml.so.1' });
    assert.equal(report.versions.node, process.version);
    assert.ok(report.cpu.cores >= 1);
    for (const name of ['nvml', 'nccl', 'cuda', 'rapl', 'shm', 'tcp']) {
      const backend = report.backends[name];
      assert.equal(typeof backend.usable, 'boolean', name);
      if (!backend.usable) assert.ok(backend.reason, `${name} is unusable without a reason`);
    }
    assert.equal(report.backends.shm.usable, true);
    assert.equal(report.backends.tcp.usable, true);
  });

  it('names the missing NVML library and the path it tried', async () => {
    const report = await infoJson({ JOULE_NVML_LIBRARY: '/nonexistent/libnvidia-ml.so.1' });
    assert.equal(report.backends.nvml.usable, false);
    assert.match(report.backends.nvml.reason, /^not found: \/nonexistent\/libnvidia-ml\.so\.1/);
    assert.deepEqual(report.gpus, []);
  });

  it('names the missing symbol', async () => {
    const report = await infoJson({ JOULE_NVML_LIBRARY: fakeNvmlMissingSymbol });
    assert.equal(report.backends.nvml.usable, false);
    assert.match(report.backends.nvml.reason, /symbol missing in .*: nvmlDeviceGetPowerUsage$/);
  });

  it('reports the driver error text when nvmlInit fails', async () => {
    const report = await infoJson({ JOULE_NVML_LIBRARY: fakeNvml, JOULE_FAKE_NVML_INIT_ERROR: '9' });
    assert.equal(report.backends.nvml.usable, false);
    assert.equal(report.backends.nvml.reason, 'nvmlInit_v2 failed: driver error 9: Driver Not Loaded');
  });

  it('lists the fake GPUs through the real dlopen path', async () => {
    const report = await infoJson({ JOULE_NVML_LIBRARY: fakeNvml, JOULE_NCCL_LIBRARY: fakeNccl });
    assert.equal(report.backends.nvml.usable, true);
    assert.equal(report.backends.nvml.library, fakeNvml);
    assert.equal(report.backends.nvml.driverVersion, '999.99-fake');
    assert.equal(report.gpus.length, 2);
    assert.deepEqual(report.gpus[1], {
      index: 1,
      name: 'Fake GPU 1',
      uuid: 'GPU-fa4e0000-0000-0000-0000-000000000001',
      powerLimitW: 400,
      energyCounter: true,
    });
    assert.equal(report.backends.nccl.usable, true);
    assert.equal(report.backends.nccl.version, '2.21.5');
  });

  it('follows JOULE_FAKE_NVML_GPUS to prove the fake is really consulted', async () => {
    const report = await infoJson({ JOULE_NVML_LIBRARY: fakeNvml, JOULE_FAKE_NVML_GPUS: '3' });
    assert.equal(report.gpus.length, 3);
  });

  it('loads the CUDA module built next to the addon and reports why it cannot run', async () => {
    // The built module, with no device visible, whatever this machine has.
    const report = await infoJson({ CUDA_VISIBLE_DEVICES: '' });
    const cuda = report.backends.cuda;
    if (/^not built/.test(report.build.cuda)) {
      assert.match(cuda.reason, /^not found \(built only when CMake finds nvcc\)/);
      return;
    }
    assert.match(report.build.cuda, /^built for 80-real,90 with CUDA /);
    assert.equal(cuda.archs, '80-real,90');
    assert.equal(cuda.library, path.join(report.build.addonDir, 'libjoule_cuda.so'));
    if (!cuda.usable) assert.match(cuda.reason, /^(cudaGetDeviceCount failed: driver error \d+: .+|no CUDA device visible.*|no NVIDIA driver loaded .*)$/);
  });

  it('names the CUDA module path it tried when JOULE_CUDA_LIBRARY points nowhere', async () => {
    const report = await infoJson({ JOULE_CUDA_LIBRARY: '/nonexistent/libjoule_cuda.so' });
    assert.equal(report.backends.cuda.usable, false);
    assert.match(report.backends.cuda.reason, /\/nonexistent\/libjoule_cuda\.so/);
  });

  it('reads RAPL domains from JOULE_POWERCAP_ROOT and says which file it cannot read', async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'joule-powercap-'));
    const write = (file: string, text: string) => {
      fs.mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
      fs.writeFileSync(path.join(root, file), text);
    };
    write('intel-rapl:0/name', 'package-0\n');
    write('intel-rapl:0/energy_uj', '12345\n');
    write('intel-rapl:0/max_energy_range_uj', '262143328850\n');
    write('intel-rapl:0/intel-rapl:0:0/name', 'dram\n');
    write('intel-rapl:0/intel-rapl:0:0/max_energy_range_uj', '65712999613\n');
    try {
      const report = await infoJson({ JOULE_POWERCAP_ROOT: root });
      const rapl = report.backends.rapl;
      assert.equal(rapl.usable, true);
      assert.deepEqual(
        rapl.domains.map((d: { name: string; readable: boolean }) => [d.name, d.readable]),
        [['package-0', true], ['dram', false]],
      );
      assert.equal(rapl.domains[1].parent, path.join(root, 'intel-rapl:0'));
      assert.match(rapl.domains[1].reason, /intel-rapl:0:0\/energy_uj: No such file/);
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });

  it('says RAPL is unusable when the powercap root does not exist', async () => {
    const report = await infoJson({ JOULE_POWERCAP_ROOT: '/nonexistent/powercap' });
    assert.equal(report.backends.rapl.usable, false);
    assert.match(report.backends.rapl.reason, /cannot open \/nonexistent\/powercap/);
  });

  it('prints a human-readable report by default', async () => {
    const result = await joule(['info'], { JOULE_NVML_LIBRARY: fakeNvml });
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^joule \d+\.\d+\.\d+/);
    assert.match(result.stdout, /nvml\s+yes/);
    assert.match(result.stdout, /Fake GPU 0/);
  });

  it('collects SLURM variables only inside a job', () => {
    assert.equal(slurmEnvironment({ PATH: '/bin' }), null);
    assert.deepEqual(slurmEnvironment({ SLURM_JOB_ID: '7', SLURM_NTASKS: '4', HOME: '/root' }), {
      SLURM_JOB_ID: '7',
      SLURM_NTASKS: '4',
    });
  });
});
