// Rank identity from the launcher's or SLURM's environment, and the CPU and GPU binding rules.
import assert from 'node:assert/strict';
import { derivedPort } from '../../src/coord/address';
import { isJouleError } from '../../src/errors';
import { chooseCpuBinding } from '../../src/world/cpu';
import { chooseGpuBinding } from '../../src/world/gpu';
import { rankEnvironment, runningAsRank } from '../../src/world/identity';

const secret = 'a'.repeat(64);

describe('rank identity', () => {
  it('reads the local launcher variables', () => {
    const id = rankEnvironment({
      JOULE_LAUNCHER: 'local', JOULE_RANK: '2', JOULE_SIZE: '4', JOULE_LOCAL_RANK: '2', JOULE_LOCAL_SIZE: '4',
      JOULE_COORD: 'tcp://127.0.0.1:4567', JOULE_JOB_SECRET: secret, JOULE_RUN_DIR: '/r', JOULE_HOST: 'box', JOULE_GPU_COUNT: '0',
    });
    assert.deepEqual([id.mode, id.rank, id.size, id.localRank, id.localSize, id.host, id.coordHost, id.coordPort, id.hostsCoordinator], ['local', 2, 4, 2, 4, 'box', '127.0.0.1', 4567, false]);
    assert.equal(id.gpu.rule, 'none');
    assert.equal(id.heartbeatMs, 2000);
    assert.equal(id.heartbeatMisses, 3);
  });

  it('reads a bare srun task: rank 0 hosts the coordinator on the first step host at the derived port', () => {
    const env = {
      SLURM_PROCID: '0', SLURM_NTASKS: '4', SLURM_LOCALID: '0', SLURM_NODEID: '0', SLURM_STEP_NUM_NODES: '2',
      SLURM_STEP_NODELIST: 'n[1-2]', SLURM_STEP_TASKS_PER_NODE: '2(x2)', SLURM_JOB_ID: '42', SLURM_STEP_ID: '3',
      SLURMD_NODENAME: 'n1', JOULE_JOB_SECRET: secret, JOULE_GPU_COUNT: '0',
    };
    const id = rankEnvironment(env);
    assert.deepEqual([id.mode, id.rank, id.size, id.localSize, id.nodes, id.host, id.coordHost, id.coordPort, id.hostsCoordinator], ['srun', 0, 4, 2, 2, 'n1', 'n1', derivedPort(42, 3), true]);
    const other = rankEnvironment({ ...env, SLURM_PROCID: '3', SLURM_LOCALID: '1', SLURM_NODEID: '1', SLURMD_NODENAME: 'n2' });
    assert.deepEqual([other.rank, other.localRank, other.nodeRank, other.hostsCoordinator, other.coordHost], [3, 1, 1, false, 'n1']);
    const given = rankEnvironment({ ...env, JOULE_COORD: 'tcp://10.0.0.5:7000' });
    assert.deepEqual([given.coordHost, given.coordPort, given.hostsCoordinator], ['10.0.0.5', 7000, true]);
    const byLauncher = rankEnvironment({ ...env, JOULE_LAUNCHER: 'srun', JOULE_COORD: 'tcp://10.0.0.5:7000' });
    assert.deepEqual([byLauncher.mode, byLauncher.hostsCoordinator], ['launcher-srun', false]);
  });

  it('one rule says whether a process is a rank: launched by joule, or an srun task; a batch script (SLURM_PROCID but no step id) is not', () => {
    const batch = { SLURM_JOB_ID: '7', SLURM_PROCID: '0', SLURM_NTASKS: '2', SLURM_LOCALID: '0', JOULE_GPU_COUNT: '0' };
    assert.equal(runningAsRank(batch), false);
    assert.equal(rankEnvironment(batch).mode, 'singleton');
    assert.equal(chooseCpuBinding(0, 1, [0, 1], { ...batch, SLURM_CPU_BIND_TYPE: 'mask_cpu:' }).rule, 'local-rank');
    const task = { ...batch, SLURM_STEP_ID: '0', JOULE_JOB_SECRET: secret };
    assert.equal(runningAsRank(task), true);
    assert.equal(rankEnvironment(task).mode, 'srun');
    assert.equal(runningAsRank({ JOULE_LAUNCHER: 'local' }), true);
    assert.equal(runningAsRank({}), false);
  });

  it('refuses to start without a job secret of at least 128 bits', () => {
    const env = { JOULE_LAUNCHER: 'local', JOULE_RANK: '0', JOULE_SIZE: '1', JOULE_COORD: 'tcp://127.0.0.1:1' };
    assert.throws(() => rankEnvironment(env), (e: unknown) => isJouleError(e, 'JOULE_BAD_ARGUMENT') && /JOULE_JOB_SECRET is not set/.test(e.message));
    assert.throws(() => rankEnvironment({ ...env, JOULE_JOB_SECRET: 'short' }), /at least 32/);
  });

  it('is a world of one when started on its own', () => {
    const id = rankEnvironment({ JOULE_GPU_COUNT: '0' });
    assert.deepEqual([id.mode, id.rank, id.size, id.hostsCoordinator, id.coordHost], ['singleton', 0, 1, true, '127.0.0.1']);
    assert.ok(id.secret.length >= 32);
  });
});

describe('CPU binding', () => {
  const eight = [0, 1, 2, 3, 4, 5, 6, 7];
  it('gives each local rank a contiguous share of the allowed CPUs', () => {
    assert.deepEqual([0, 1, 2].map((r) => chooseCpuBinding(r, 3, eight, {}).cpus), [[0, 1], [2, 3, 4], [5, 6, 7]]);
    assert.deepEqual(chooseCpuBinding(1, 2, [4, 6, 9, 11], {}), { rule: 'local-rank', cpus: [9, 11], reason: 'local rank 1 of 2 on 4 CPUs' });
    assert.deepEqual(chooseCpuBinding(0, 1, eight, {}).cpus, eight);
  });

  it('leaves ranks unbound when oversubscribed, when told to, or when srun bound them', () => {
    assert.deepEqual(chooseCpuBinding(2, 3, [0, 1], {}), { rule: 'none', cpus: [0, 1], reason: '3 local ranks, 2 CPUs allowed: left as given' });
    assert.equal(chooseCpuBinding(0, 2, eight, { JOULE_CPU_BIND: 'none' }).rule, 'none');
    const slurm = chooseCpuBinding(0, 2, [3], { SLURM_PROCID: '0', SLURM_STEP_ID: '0', SLURM_CPU_BIND_TYPE: 'mask_cpu:' });
    assert.deepEqual([slurm.rule, slurm.cpus], ['slurm', [3]]);
    // srun --cpu-bind=none: the node's CPUs are shared, so joule splits them.
    assert.equal(chooseCpuBinding(0, 2, eight, { SLURM_PROCID: '0', SLURM_STEP_ID: '0', SLURM_CPU_BIND_TYPE: 'none' }).rule, 'local-rank');
  });
});

describe('GPU binding', () => {
  it('keeps SLURM\'s per-task CUDA_VISIBLE_DEVICES', () => {
    assert.deepEqual(chooseGpuBinding(1, 4, true, { CUDA_VISIBLE_DEVICES: '3', SLURM_STEP_GPUS: '3' }), { rule: 'slurm', gpus: [0], cudaVisibleDevices: '3' });
    assert.deepEqual(chooseGpuBinding(0, 2, true, { CUDA_VISIBLE_DEVICES: '0,1', SLURM_GPUS_PER_TASK: '2' }), { rule: 'slurm', gpus: [0, 1], cudaVisibleDevices: '0,1' });
  });

  it('splits a node-wide list, or the node\'s devices, by local rank', () => {
    assert.deepEqual(chooseGpuBinding(1, 2, true, { CUDA_VISIBLE_DEVICES: '4,5' }), { rule: 'local-rank', gpus: [0], cudaVisibleDevices: '5' });
    assert.deepEqual(chooseGpuBinding(3, 4, false, { JOULE_GPU_COUNT: '2' }), { rule: 'local-rank', gpus: [0], cudaVisibleDevices: '1' });
    assert.deepEqual(chooseGpuBinding(0, 1, false, { JOULE_GPU_COUNT: '0' }), { rule: 'none', gpus: [] });
  });
});
