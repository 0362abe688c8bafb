// dlopen with per-path error collection and per-symbol checks.
#include "dl/library.h"

#include <dlfcn.h>

#include "settings.h"

namespace joule::dl {

bool Library::Open(const std::vector<std::string>& candidates) {
  error_.clear();
  for (const auto& candidate : candidates) {
    dlerror();
    void* handle = dlopen(candidate.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (handle != nullptr) {
      handle_ = handle;
      path_ = candidate;
      error_.clear();
      return true;
    }
    const char* why = dlerror();
    if (!error_.empty()) error_ += "; ";
    std::string text = why != nullptr ? why : "unknown dlopen error";
    // dlerror usually names the path already; don't say it twice.
    error_ += text.rfind(candidate, 0) == 0 ? text : candidate + ": " + text;
  }
  if (candidates.empty()) error_ = "no candidate paths";
  return false;
}

void* Library::Lookup(const char* name) {
  void* symbol = LookupOptional(name);
  if (symbol == nullptr) missing_.emplace_back(name);
  return symbol;
}

void* Library::LookupOptional(const char* name) const {
  if (handle_ == nullptr) return nullptr;
  return dlsym(handle_, name);
}

std::vector<std::string> Candidates(const char* env_var, const std::vector<std::string>& defaults) {
  std::string override_path = Setting(env_var, "");
  if (!override_path.empty()) return {override_path};
  return defaults;
}

}  // namespace joule::dl
