// Walks the powercap tree for RAPL zones and reads their energy counters.
#include "power/rapl_domains.h"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <set>

namespace joule::power {
namespace {

// Zones are intel-rapl:N at the top and intel-rapl:N:M below; a sysfs root lists both flat,
// so the number of colons tells the depth a zone belongs at.
bool IsRaplZone(const std::string& entry, long colons) {
  bool rapl = entry.rfind("intel-rapl:", 0) == 0 || entry.rfind("intel-rapl-mmio:", 0) == 0;
  return rapl && std::count(entry.begin(), entry.end(), ':') == colons;
}

bool IsMmio(const std::string& path) { return path.find("/intel-rapl-mmio:") != std::string::npos; }

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
  domain.maxEnergyRangeUj = range.empty() ? 0 : std::strtoull(range.c_str(), nullptr, 10);
  std::string max_power = ReadLine(path + "/constraint_0_max_power_uw");
  domain.maxPowerW = max_power.empty() ? 0 : std::strtod(max_power.c_str(), nullptr) / 1e6;
  unsigned long long ignored = 0;
  ReadEnergyUj(path, &ignored, &domain.error);
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

std::vector<RaplDomain> EnergyDomains(const std::vector<RaplDomain>& all) {
  std::set<std::string> msr_names;
  for (const auto& domain : all) {
    if (!IsMmio(domain.path)) msr_names.insert(domain.name);
  }
  std::vector<RaplDomain> chosen;
  for (const auto& domain : all) {
    bool counted = domain.name.rfind("package", 0) == 0 || domain.name == "dram";
    if (!counted) continue;
    if (IsMmio(domain.path) && msr_names.count(domain.name) > 0) continue;
    chosen.push_back(domain);
  }
  return chosen;
}

std::string DescribeReadError(const std::string& file, int code) {
  std::string text = "cannot read " + file + ": " + std::strerror(code);
  if (code == EACCES) {
    text += " (since Linux 5.10 only root may read RAPL counters: run as root, or have an admin run "
            "`chmod o+r` on the energy_uj files, e.g. with a udev rule or at boot)";
  }
  return text;
}

int PreadCounter(int fd, unsigned long long* value) {
  char buffer[32];
  ssize_t n = pread(fd, buffer, sizeof buffer - 1, 0);
  if (n < 0) return errno;
  if (n == 0) return ENODATA;
  buffer[n] = '\0';
  char* end = nullptr;
  *value = std::strtoull(buffer, &end, 10);
  return end == buffer ? EINVAL : 0;
}

// POSIX calls rather than ifstream: a directory opens fine as a stream and only read() says EISDIR.
bool ReadEnergyUj(const std::string& domain_path, unsigned long long* value, std::string* error) {
  std::string file = domain_path + "/energy_uj";
  int fd = open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    *error = DescribeReadError(file, errno);
    return false;
  }
  int code = PreadCounter(fd, value);
  close(fd);
  if (code != 0) *error = DescribeReadError(file, code);
  return code == 0;
}

}  // namespace joule::power
