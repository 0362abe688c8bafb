// Which CPUs a rank runs on. Like mpirun's default binding: when the ranks on a node fit its CPUs, each
// gets its own share of them, so two ranks' spinning communicator threads never take turns on one core.
import { readEnv } from '../env';
import { native } from '../native';
import { isSrunTask } from './identity';

/** local-rank: this rank's share of the node's CPUs; slurm: srun bound the task already; none: unbound. */
export type CpuBindingRule = 'local-rank' | 'slurm' | 'none';

export interface CpuBinding {
  rule: CpuBindingRule;
  /** The CPUs the rank runs on. */
  cpus: number[];
  /** Why, in words (run.json's ranks carry it). */
  reason: string;
}

/**
 * The binding for local rank `localRank` of `localSize`, given the CPUs the process may use. Splits them
 * into `localSize` contiguous shares; leaves the rank unbound when JOULE_CPU_BIND=none, when srun already
 * bound it (SLURM_CPU_BIND_TYPE other than none) or when there are more ranks than CPUs.
 */
export function chooseCpuBinding(localRank: number, localSize: number, allowed: number[], env: NodeJS.ProcessEnv = process.env): CpuBinding {
  if (readEnv('JOULE_CPU_BIND', env) === 'none') return { rule: 'none', cpus: allowed, reason: 'JOULE_CPU_BIND=none' };
  const slurmType = env.SLURM_CPU_BIND_TYPE ?? '';
  if (isSrunTask(env) && slurmType !== '' && !slurmType.startsWith('none')) {
    return { rule: 'slurm', cpus: allowed, reason: `srun bound the task (SLURM_CPU_BIND_TYPE=${slurmType})` };
  }
  if (localSize > allowed.length) return { rule: 'none', cpus: allowed, reason: `${localSize} local ranks, ${allowed.length} CPUs allowed: left as given` };
  const first = Math.floor((localRank * allowed.length) / localSize);
  const end = Math.floor(((localRank + 1) * allowed.length) / localSize);
  return { rule: 'local-rank', cpus: allowed.slice(first, end), reason: `local rank ${localRank} of ${localSize} on ${allowed.length} CPUs` };
}

/** Chooses this rank's binding and applies it to every thread of the process (later threads inherit it). */
export function bindRank(localRank: number, localSize: number, env: NodeJS.ProcessEnv = process.env): CpuBinding {
  const addon = native();
  const allowed = addon.allowedCpus();
  const binding = chooseCpuBinding(localRank, localSize, allowed, env);
  if (binding.rule === 'local-rank' && binding.cpus.length < allowed.length) addon.bindProcess(binding.cpus);
  return binding;
}
