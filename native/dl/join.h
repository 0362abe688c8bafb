// Joins strings for error messages.
#pragma once

#include <string>
#include <vector>

namespace joule::dl {

inline std::string Join(const std::vector<std::string>& parts, const char* separator) {
  std::string joined;
  for (const auto& part : parts) {
    if (!joined.empty()) joined += separator;
    joined += part;
  }
  return joined;
}

}  // namespace joule::dl
