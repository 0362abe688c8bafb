// Cluster profiles: the shipped ones validate, and every kind of mistake is reported with its field and a code.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isJouleError } from '../../src/errors';
import { knownProfiles, loadProfile, validateProfile } from '../../src/slurm/profile';
import { gpuProfile } from './fixtures';


function problemsOf(value: unknown): string[] {
  try {
    validateProfile(value, 'test.json');
  } catch (error) {
    assert.ok(isJouleError(error, 'JOULE_BAD_PROFILE'), String(error));
    return error.details.problems as string[];
  }
  assert.fail('the profile was accepted');
}

describe('cluster profiles', () => {
  it('ships a valid local profile: CPU only, no partition, energy model inputs present', () => {
    assert.ok(knownProfiles().includes('local'));
    const local = loadProfile('local');
    assert.equal(local.name, 'local');
    assert.equal(local.slurm?.partition, undefined);
    assert.equal(local.node.gpusPerNode, 0);
    assert.ok(local.node.cpuTdpWPerCore > 0);
    assert.ok(local.energy.pue >= 1);
    assert.ok(local.energy.carbonIntensityGPerKWh > 0);
    assert.match(local.energy.source ?? '', /assumed/);
  });

  it('validates every shipped profile', () => {
    for (const name of knownProfiles()) assert.equal(loadProfile(name).name, name);
  });

  it('accepts a full cluster profile', () => {
    assert.deepEqual(validateProfile(structuredClone(gpuProfile), 'gpu.json'), gpuProfile);
  });

  it('lists every problem with its field', () => {
    const problems = problemsOf({
      ...gpuProfile,
      colour: 'blue',
      launcher: 'mpirun',
      slurm: { ...gpuProfile.slurm, partition: 'gpu; rm -rf /', defaultTime: '1 hour', extraOptions: ['--comment=a b'] },
      modules: ['cuda 12'],
      env: { 'BAD-NAME': 'x', JOULE_JOB_SECRET: 'x' },
      node: { gpusPerNode: 2, cpuTdpWPerCore: 0 },
      energy: { pue: 0.9, carbonIntensityGPerKWh: -1 },
    });
    const fields = problems.map((problem) => problem.split(':')[0]);
    for (const field of [
      'colour',
      'launcher',
      'slurm.partition',
      'slurm.defaultTime',
      'slurm.extraOptions[0]',
      'modules[0]',
      'env.BAD-NAME',
      'env.JOULE_JOB_SECRET',
      'node.cpuTdpWPerCore',
      'node.gpuTdpW',
      'energy.pue',
      'energy.carbonIntensityGPerKWh',
    ]) {
      assert.ok(fields.includes(field), `${field} not reported in:\n${problems.join('\n')}`);
    }
  });

  it('requires node and energy', () => {
    const fields = problemsOf({ name: 'x' }).map((problem) => problem.split(':')[0]);
    assert.deepEqual(fields.sort(), ['energy', 'node']);
  });

  it('says which profiles exist when the name is unknown', () => {
    assert.throws(() => loadProfile('no-such-cluster'), (error: unknown) => isJouleError(error, 'JOULE_UNKNOWN_PROFILE') && /known profiles: .*local/.test(error.message));
  });

  it('loads a profile by path and reports bad JSON and a name that does not match its file', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'joule-profile-'));
    try {
      const file = path.join(dir, 'mine.json');
      fs.writeFileSync(file, JSON.stringify(gpuProfile));
      assert.equal(loadProfile(file).name, 'testgpu');
      fs.writeFileSync(file, '{ "name": ');
      assert.throws(() => loadProfile(file), (error: unknown) => isJouleError(error, 'JOULE_BAD_PROFILE') && error.message.includes(file));
      assert.throws(() => loadProfile(path.join(dir, 'absent.json')), (error: unknown) => isJouleError(error, 'JOULE_UNKNOWN_PROFILE') && /ENOENT/.test(error.message));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
