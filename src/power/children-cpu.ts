// CPU seconds of the processes this one started and has waited for: the ranks, for the CPU model of a node
// whose ranks never measured themselves. Its own file so srun-side supervisors read it without the sampler.
import fs from 'node:fs';

/** cutime + cstime of /proc/self/stat, in seconds; undefined where /proc cannot say. */
export function endedChildrenCpuTimeS(): number | undefined {
  try {
    const stat = fs.readFileSync('/proc/self/stat', 'utf8');
    // Fields after the command name (which may hold spaces) start at field 3; cutime and cstime are fields 16 and 17.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[13]) + Number(fields[14]);
    // USER_HZ is 100 on every Linux ABI joule runs on (fixed for user space, whatever the kernel's HZ).
    return Number.isFinite(ticks) ? ticks / 100 : undefined;
  } catch {
    return undefined;
  }
}
