// The scaffold every run-time library loader shares (NVML, NCCL, the CUDA module): load once, open the
// first candidate, bind every symbol, name the missing ones, then the library's own start-up.
#pragma once

#include <string>
#include <vector>

#include "dl/library.h"

namespace joule::dl {

class Loader {
 public:
  virtual ~Loader() = default;
  bool usable() const { return usable_; }
  // Why the library cannot be used (empty while it can, or before the first load).
  const std::string& reason() const { return reason_; }
  const std::string& path() const { return library_.path(); }

 protected:
  // The first call opens `env_var`'s path alone when it is set, else the first of `defaults` that opens;
  // later calls return the first call's answer. `not_found` prefixes dlopen's errors in reason().
  bool LoadOnce(const char* env_var, const std::vector<std::string>& defaults, const std::string& not_found);
  // Resolves every symbol through library.Bind/BindOptional.
  virtual void BindSymbols(Library& library) = 0;
  // After every required symbol resolved: the library's own start (init, version, devices); false after Fail().
  virtual bool Start() = 0;
  bool Fail(std::string reason);

  Library library_;

 private:
  bool attempted_ = false;
  bool usable_ = false;
  std::string reason_;
};

}  // namespace joule::dl
