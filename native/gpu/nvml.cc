// NVML loader: dlopen, per-symbol binding, init, device descriptions.
#include "gpu/nvml.h"

#include "dl/join.h"

namespace joule::nvml {

bool Nvml::Load() {
  if (attempted_) return usable_;
  attempted_ = true;
  if (!library_.Open(dl::Candidates("JOULE_NVML_LIBRARY", {"libnvidia-ml.so.1", "libnvidia-ml.so"}))) {
    reason_ = "not found: " + library_.error();
    return false;
  }
  library_.Bind(api_.Init, "nvmlInit_v2");
  library_.Bind(api_.Shutdown, "nvmlShutdown");
  library_.Bind(api_.ErrorString, "nvmlErrorString");
  library_.Bind(api_.SystemGetDriverVersion, "nvmlSystemGetDriverVersion");
  library_.Bind(api_.DeviceGetCount, "nvmlDeviceGetCount_v2");
  library_.Bind(api_.DeviceGetHandleByIndex, "nvmlDeviceGetHandleByIndex_v2");
  library_.Bind(api_.DeviceGetName, "nvmlDeviceGetName");
  library_.Bind(api_.DeviceGetUUID, "nvmlDeviceGetUUID");
  library_.Bind(api_.DeviceGetPowerUsage, "nvmlDeviceGetPowerUsage");
  library_.BindOptional(api_.DeviceGetTotalEnergyConsumption, "nvmlDeviceGetTotalEnergyConsumption");
  library_.BindOptional(api_.DeviceGetEnforcedPowerLimit, "nvmlDeviceGetEnforcedPowerLimit");
  library_.BindOptional(api_.DeviceGetUtilizationRates, "nvmlDeviceGetUtilizationRates");
  library_.BindOptional(api_.DeviceGetClockInfo, "nvmlDeviceGetClockInfo");
  library_.BindOptional(api_.DeviceGetTemperature, "nvmlDeviceGetTemperature");
  if (!library_.missing().empty()) {
    reason_ = "symbol missing in " + library_.path() + ": " + dl::Join(library_.missing(), ", ");
    return false;
  }
  Return rc = api_.Init();
  if (rc != kSuccess) {
    reason_ = Describe("nvmlInit_v2", rc);
    return false;
  }
  char driver[kDriverBufferSize] = {0};
  if (api_.SystemGetDriverVersion(driver, sizeof driver) == kSuccess) driver_ = driver;
  usable_ = true;
  return true;
}

std::string Nvml::Describe(const char* call, Return code) const {
  const char* text = api_.ErrorString != nullptr ? api_.ErrorString(code) : nullptr;
  return std::string(call) + " failed: driver error " + std::to_string(code) + ": " +
         (text != nullptr ? text : "unknown");
}

bool Nvml::Devices(std::vector<GpuInfo>* out, std::string* error) const {
  unsigned int count = 0;
  Return rc = api_.DeviceGetCount(&count);
  if (rc != kSuccess) {
    *error = Describe("nvmlDeviceGetCount_v2", rc);
    return false;
  }
  for (unsigned int i = 0; i < count; ++i) {
    Device device = nullptr;
    rc = api_.DeviceGetHandleByIndex(i, &device);
    if (rc != kSuccess) {
      *error = Describe("nvmlDeviceGetHandleByIndex_v2", rc);
      return false;
    }
    GpuInfo info;
    info.index = i;
    char name[kNameBufferSize] = {0};
    if (api_.DeviceGetName(device, name, sizeof name) == kSuccess) info.name = name;
    char uuid[kUuidBufferSize] = {0};
    if (api_.DeviceGetUUID(device, uuid, sizeof uuid) == kSuccess) info.uuid = uuid;
    unsigned int limit_mw = 0;
    if (api_.DeviceGetEnforcedPowerLimit != nullptr &&
        api_.DeviceGetEnforcedPowerLimit(device, &limit_mw) == kSuccess) {
      info.powerLimitW = limit_mw / 1000.0;
    }
    unsigned long long energy_mj = 0;
    info.hasEnergyCounter = api_.DeviceGetTotalEnergyConsumption != nullptr &&
                            api_.DeviceGetTotalEnergyConsumption(device, &energy_mj) == kSuccess;
    out->push_back(info);
  }
  return true;
}

}  // namespace joule::nvml
