// Loads NVML at run time and describes the GPUs it sees; every failure becomes a reason string.
#pragma once

#include <string>
#include <vector>

#include "dl/loader.h"
#include "gpu/nvml_api.h"

namespace joule::nvml {

struct GpuInfo {
  unsigned int index = 0;
  std::string name;
  std::string uuid;
  double powerLimitW = -1;  // -1 when NVML cannot say
  bool hasEnergyCounter = false;
};

struct PowerLimitInfo {
  double limitW = -1;
  double minW = -1;  // -1 when NVML cannot say
  double maxW = -1;
  double defaultW = -1;
};

// One per addon instance: NVML is opened and initialised once, on first use.
class Nvml : public dl::Loader {
 public:
  // True when the library loaded, every required symbol resolved and nvmlInit succeeded.
  bool Load();
  const std::string& driverVersion() const { return driver_; }
  const Api& api() const { return api_; }

  // "NVML call X failed: error N: text" for a return code.
  std::string Describe(const char* call, Return code) const;
  bool Devices(std::vector<GpuInfo>* out, std::string* error) const;
  // The power management limit of GPU `index`, with its bounds and default when NVML gives them.
  bool PowerLimit(unsigned int index, PowerLimitInfo* out, std::string* error) const;
  bool SetPowerLimit(unsigned int index, double watts, std::string* error) const;

 private:
  void BindSymbols(dl::Library& library) override;
  bool Start() override;
  std::string driver_;
  Api api_;
};

}  // namespace joule::nvml
