// `joule info` says what will be measured and what only modelled here, and does not blame a driver that is not there.
import assert from 'node:assert/strict';
import { withoutDriverBlame } from '../../src/info/report';
import { fakeNvml, joule } from '../helpers/run';
import { fakePowercap } from '../power/powercap';

describe('joule info: energy', function () {
  this.timeout(60_000);

  it('no NVML, no RAPL (pinned): model only, with the profile figures', async () => {
    const result = await joule(['info']);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^energy: model only — profile local: 10 W per core, PUE 1, 480 g\/kWh, assumed$/m);
    assert.match(result.stdout, /^ {2}modelled: CPU: 10 W per busy core \(rapl: /m);
  });

  it('a fake RAPL tree and fake NVML GPUs: both measured, in the text and the JSON', async () => {
    const tree = fakePowercap([{ zone: 'intel-rapl:0', name: 'package-0', energyUj: 1, maxEnergyRangeUj: 262_143_328_850 }]);
    try {
      const env = { JOULE_POWERCAP_ROOT: tree.root, JOULE_NVML_LIBRARY: fakeNvml, JOULE_GPU_COUNT: '2' };
      const text = await joule(['info'], env);
      assert.match(text.stdout, /^energy: measured: GPU by nvml \(2 GPUs, .*\); CPU by rapl \(package-0; .*\) — profile local/m);
      const json = JSON.parse((await joule(['info', '--json'], env)).stdout);
      assert.equal(json.energy.modelled.length, 0);
      assert.equal(json.energy.measured.length, 2);
    } finally {
      tree.remove();
    }
  });

  it('GPUs on the node but no NVML: the GPUs are modelled, and said so', async () => {
    const json = JSON.parse((await joule(['info', '--json'], { JOULE_GPU_COUNT: '4' })).stdout);
    assert.match(json.energy.summary, /^energy: model only — profile local: .*400 W per GPU/);
    assert.match(json.energy.modelled[0], /^4 GPUs: 400 W × utilization \(nvml: not found/);
  });

  it('CUDA error 35 without a driver is reported as no driver, not as the driver version', () => {
    const cuda = { usable: false, reason: 'cudaGetDeviceCount failed: driver error 35: CUDA driver version is insufficient for CUDA runtime version' };
    assert.match(withoutDriverBlame(cuda, false).reason!, /^no NVIDIA driver loaded .*the CUDA runtime said: cudaGetDeviceCount/);
    assert.equal(withoutDriverBlame(cuda, true), cuda, 'with a driver, error 35 is the version after all');
  });
});
