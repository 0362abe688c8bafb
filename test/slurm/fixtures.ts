// Shared inputs of the SLURM tests: a full GPU cluster profile exercising every field.
export const gpuProfile = {
  name: 'testgpu',
  description: 'a GPU cluster for tests',
  slurm: { partition: 'gpu', account: 'proj42', qos: 'normal', defaultTime: '1:00:00', tasksPerNode: 4, exclusive: true, extraOptions: ['--reservation=big'] },
  modules: ['cuda/12.4', 'nodejs/20'],
  setup: ['echo setup ran >> "$JOULE_TEST_LOG"'],
  env: { NCCL_SOCKET_IFNAME: 'ib0', LITERAL: 'a $HOME b' },
  node: { gpusPerNode: 4, gpuModel: 'A100-SXM4-40GB', gpuTdpW: 400, cpuCoresPerNode: 64, cpuTdpWPerCore: 4.4, nodeBaseW: 150 },
  energy: { pue: 1.2, carbonIntensityGPerKWh: 350, source: 'site document' },
};
