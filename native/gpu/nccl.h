// Loads NCCL at run time; every failure becomes a reason string.
#pragma once

#include <string>

#include "dl/library.h"
#include "gpu/nccl_api.h"

namespace joule::nccl {

class Nccl {
 public:
  bool Load();
  bool usable() const { return usable_; }
  const std::string& reason() const { return reason_; }
  const std::string& path() const { return library_.path(); }
  // "2.21.5", from ncclGetVersion.
  const std::string& version() const { return version_; }
  const Api& api() const { return api_; }
  std::string Describe(const char* call, Result code) const;

 private:
  bool attempted_ = false;
  bool usable_ = false;
  std::string reason_;
  std::string version_;
  dl::Library library_;
  Api api_;
};

}  // namespace joule::nccl
