// The environment every test runs in: no inherited JOULE_*/SLURM_* settings and none of the host's
// measuring or GPU-choosing hardware (no GPU count, NVML, NCCL or RAPL tree), so the suite means the same
// on a laptop, a GPU node and a RAPL node. A test that needs a device asks for a fake one (fake NVML,
// fakePowercap). The CUDA cast module stays the built one: its tests run only where a GPU can run them.
import fs from 'node:fs';
import path from 'node:path';
import { packageRoot } from '../../src/paths';

/** The caller's environment before pinning. */
const hostEnv: Readonly<NodeJS.ProcessEnv> = { ...process.env };

const absent = path.join(packageRoot, 'build', 'test-fakes', 'absent');

/** No GPUs, paths that name no library, and a powercap tree that does not exist. */
const pinnedHardware: Readonly<Record<string, string>> = {
  JOULE_GPU_COUNT: '0',
  JOULE_NVML_LIBRARY: path.join(absent, 'libnvidia-ml.so.1'),
  JOULE_NCCL_LIBRARY: path.join(absent, 'libnccl.so.2'),
  JOULE_POWERCAP_ROOT: path.join(absent, 'powercap'),
};

const INHERITED_AWAY = /^(JOULE_|SLURM_|SLURMD_|SRUN_|CUDA_VISIBLE_DEVICES$|NVIDIA_VISIBLE_DEVICES$|ROCR_VISIBLE_DEVICES$)/;
/** Which build is tested: the caller's choice, not the machine's hardware. */
const KEPT = new Set(['JOULE_ADDON']);

/** The pinned environment: the host's, less joule's, SLURM's and device-selection variables, plus pinnedHardware. */
function pinnedEnv(base: NodeJS.ProcessEnv = hostEnv): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(base)) if (KEPT.has(name) || !INHERITED_AWAY.test(name)) env[name] = value;
  return { ...env, ...pinnedHardware };
}

/** Makes this (mocha) process's environment the pinned one, so in-process tests and every child see it. */
export function pinProcessEnv(): void {
  const env = pinnedEnv();
  for (const name of Object.keys(process.env)) if (!(name in env)) delete process.env[name];
  Object.assign(process.env, env);
  fs.mkdirSync(absent, { recursive: true });
}
