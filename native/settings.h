// The one way native code reads a JOULE_* setting. Each name and fallback read here is listed in
// src/env.ts (readBy 'native', same default), which checks the values before the addon loads;
// test/env.test.ts fails on a getenv anywhere else and on a name or fallback that differs.
#pragma once

#include <cstdlib>
#include <string>

namespace joule {

// The variable's value, or `fallback` when it is unset or empty.
inline std::string Setting(const char* name, const char* fallback) {
  const char* value = std::getenv(name);
  return value != nullptr && value[0] != '\0' ? value : fallback;
}

}  // namespace joule
