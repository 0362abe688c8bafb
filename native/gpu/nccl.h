// Loads NCCL at run time; every failure becomes a reason string.
#pragma once

#include <string>

#include "dl/loader.h"
#include "gpu/nccl_api.h"

namespace joule::nccl {

class Nccl : public dl::Loader {
 public:
  bool Load();
  // "2.21.5", from ncclGetVersion.
  const std::string& version() const { return version_; }
  const Api& api() const { return api_; }
  std::string Describe(const char* call, Result code) const;

 private:
  void BindSymbols(dl::Library& library) override;
  bool Start() override;
  std::string version_;
  Api api_;
};

}  // namespace joule::nccl
