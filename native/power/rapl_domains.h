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
  double maxPowerW = 0;  // constraint_0_max_power_uw when the zone has it, else 0
  std::string error;     // why energy_uj cannot be read (empty when it can)
};

// Lists every domain under `root` (JOULE_POWERCAP_ROOT or /sys/class/powercap), sub-domains included.
// `error` says why nothing was found when the list is empty.
std::vector<RaplDomain> FindRaplDomains(const std::string& root, std::string* error);

// The domains whose energies add up without counting anything twice: every package-* zone and every
// dram zone. core/uncore are parts of their package and psys covers the packages; an intel-rapl-mmio
// zone with the same name as an intel-rapl one is the same counter read through MMIO.
std::vector<RaplDomain> EnergyDomains(const std::vector<RaplDomain>& all);

// Reads a domain's energy_uj; on failure says which file, why, and (for EACCES) how to fix it.
bool ReadEnergyUj(const std::string& domain_path, unsigned long long* value, std::string* error);

// Re-reads an open energy_uj file from its start (sysfs regenerates it on each read); 0 or an errno.
int PreadCounter(int fd, unsigned long long* value);

// What to tell the user when reading `file` failed with `code` (an errno).
std::string DescribeReadError(const std::string& file, int code);

}  // namespace joule::power
