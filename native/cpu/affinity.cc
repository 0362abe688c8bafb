// sched_getaffinity / sched_setaffinity over every thread in /proc/self/task.
#include "cpu/affinity.h"

#include <dirent.h>
#include <sched.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <stdexcept>

namespace joule::cpu {

std::vector<int> AllowedCpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  std::vector<int> cpus;
  if (sched_getaffinity(0, sizeof set, &set) != 0) return cpus;
  for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
    if (CPU_ISSET(cpu, &set)) cpus.push_back(cpu);
  }
  return cpus;
}

int BindProcess(const std::vector<int>& cpus) {
  cpu_set_t set;
  CPU_ZERO(&set);
  for (int cpu : cpus) {
    if (cpu < 0 || cpu >= CPU_SETSIZE) throw std::runtime_error("CPU " + std::to_string(cpu) + " is out of range");
    CPU_SET(cpu, &set);
  }
  DIR* tasks = opendir("/proc/self/task");
  if (tasks == nullptr) throw std::runtime_error(std::string("cannot list /proc/self/task: ") + std::strerror(errno));
  int bound = 0;
  while (dirent* entry = readdir(tasks)) {
    if (entry->d_name[0] == '.') continue;
    const pid_t tid = static_cast<pid_t>(std::strtol(entry->d_name, nullptr, 10));
    // A thread that ended since the listing is not an error.
    if (sched_setaffinity(tid, sizeof set, &set) == 0) {
      ++bound;
    } else if (errno != ESRCH) {
      const std::string error = std::strerror(errno);
      closedir(tasks);
      throw std::runtime_error("sched_setaffinity(thread " + std::to_string(tid) + "): " + error);
    }
  }
  closedir(tasks);
  return bound;
}

}  // namespace joule::cpu
