// Walks the powercap tree for RAPL zones.
#include "power/rapl_domains.h"

#include <dirent.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>

namespace joule::power {
namespace {

// Zones are intel-rapl:N at the top and intel-rapl:N:M below; a sysfs root lists both flat,
// so the number of colons tells the depth a zone belongs at.
bool IsRaplZone(const std::string& entry, long colons) {
  bool rapl = entry.rfind("intel-rapl:", 0) == 0 || entry.rfind("intel-rapl-mmio:", 0) == 0;
  return rapl && std::count(entry.begin(), entry.end(), ':') == colons;
}

std::string ReadLine(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

RaplDomain Describe(const std::string& path, const std::string& parent) {
  RaplDomain domain;
  domain.path = path;
  domain.parent = parent;
  domain.name = ReadLine(path + "/name");
  std::string range = ReadLine(path + "/max_energy_range_uj");
  domain.maxEnergyRangeUj = range.empty() ? 0 : std::stoull(range);
  std::ifstream energy(path + "/energy_uj");
  if (!energy) {
    int code = errno;
    domain.error = "cannot read " + path + "/energy_uj: " + std::strerror(code);
    if (code == EACCES) {
      domain.error += " (since Linux 5.10 only root may read it: run as root, or have an admin run "
                      "`chmod o+r` on the energy_uj files)";
    }
  }
  return domain;
}

bool Collect(const std::string& dir, const std::string& parent, long colons,
             std::vector<RaplDomain>* out, std::string* error) {
  DIR* handle = opendir(dir.c_str());
  if (handle == nullptr) {
    *error = "cannot open " + dir + ": " + std::strerror(errno);
    return false;
  }
  std::vector<std::string> entries;
  while (dirent* entry = readdir(handle)) {
    if (IsRaplZone(entry->d_name, colons)) entries.emplace_back(entry->d_name);
  }
  closedir(handle);
  std::sort(entries.begin(), entries.end());
  for (const auto& entry : entries) {
    std::string path = dir + "/" + entry;
    out->push_back(Describe(path, parent));
    Collect(path, path, colons + 1, out, error);
  }
  return true;
}

}  // namespace

std::vector<RaplDomain> FindRaplDomains(const std::string& root, std::string* error) {
  std::vector<RaplDomain> domains;
  if (Collect(root, "", 1, &domains, error) && domains.empty()) {
    *error = "no intel-rapl zones under " + root;
  }
  return domains;
}

}  // namespace joule::power
