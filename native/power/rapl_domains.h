// Finds the RAPL energy counters of the powercap tree (intel-rapl and intel-rapl-mmio; AMD uses them too).
#pragma once

#include <string>
#include <vector>

namespace joule::power {

struct RaplDomain {
  std::string path;    // the domain's folder, e.g. <root>/intel-rapl:0
  std::string name;    // its `name` file: package-0, dram, core, uncore, psys
  std::string parent;  // the enclosing domain's path; empty for a top-level domain
  unsigned long long maxEnergyRangeUj = 0;
  std::string error;   // why energy_uj cannot be read (empty when it can)
};

// Lists every domain under `root` (JOULE_POWERCAP_ROOT or /sys/class/powercap), sub-domains included.
// `error` says why nothing was found when the list is empty.
std::vector<RaplDomain> FindRaplDomains(const std::string& root, std::string* error);

}  // namespace joule::power
