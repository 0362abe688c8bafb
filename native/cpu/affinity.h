// CPU affinity for a rank: which CPUs this process may run on, and binding all of its threads to a set.
#pragma once

#include <string>
#include <vector>

namespace joule::cpu {

// The CPUs the calling thread may run on (what a cgroup, taskset or SLURM left this process).
std::vector<int> AllowedCpus();

// Restricts every thread of this process (each task in /proc/self/task) to `cpus`; threads started
// later inherit the mask from their creator. Returns the number of threads bound; throws
// std::runtime_error naming the thread and the errno text when the kernel refuses.
int BindProcess(const std::vector<int>& cpus);

}  // namespace joule::cpu
