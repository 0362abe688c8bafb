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
  library_.BindOptional(api_.DeviceGetPowerManagementLimit, "nvmlDeviceGetPowerManagementLimit");
  library_.BindOptional(api_.DeviceGetPowerManagementLimitConstraints, "nvmlDeviceGetPowerManagementLimitConstraints");
  library_.BindOptional(api_.DeviceGetPowerManagementDefaultLimit, "nvmlDeviceGetPowerManagementDefaultLimit");
  library_.BindOptional(api_.DeviceSetPowerManagementLimit, "nvmlDeviceSetPowerManagementLimit");
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

bool Nvml::PowerLimit(unsigned int index, PowerLimitInfo* out, std::string* error) const {
  if (api_.DeviceGetPowerManagementLimit == nullptr) {
    *error = "nvmlDeviceGetPowerManagementLimit is missing in " + library_.path();
    return false;
  }
  Device device = nullptr;
  Return rc = api_.DeviceGetHandleByIndex(index, &device);
  if (rc != kSuccess) {
    *error = Describe("nvmlDeviceGetHandleByIndex_v2", rc);
    return false;
  }
  unsigned int mw = 0;
  rc = api_.DeviceGetPowerManagementLimit(device, &mw);
  if (rc != kSuccess) {
    *error = Describe("nvmlDeviceGetPowerManagementLimit", rc);
    return false;
  }
  out->limitW = mw / 1000.0;
  unsigned int min_mw = 0, max_mw = 0;
  if (api_.DeviceGetPowerManagementLimitConstraints != nullptr &&
      api_.DeviceGetPowerManagementLimitConstraints(device, &min_mw, &max_mw) == kSuccess) {
    out->minW = min_mw / 1000.0;
    out->maxW = max_mw / 1000.0;
  }
  unsigned int default_mw = 0;
  if (api_.DeviceGetPowerManagementDefaultLimit != nullptr &&
      api_.DeviceGetPowerManagementDefaultLimit(device, &default_mw) == kSuccess) {
    out->defaultW = default_mw / 1000.0;
  }
  return true;
}

bool Nvml::SetPowerLimit(unsigned int index, double watts, std::string* error) const {
  if (api_.DeviceSetPowerManagementLimit == nullptr) {
    *error = "nvmlDeviceSetPowerManagementLimit is missing in " + library_.path();
    return false;
  }
  Device device = nullptr;
  Return rc = api_.DeviceGetHandleByIndex(index, &device);
  if (rc == kSuccess) rc = api_.DeviceSetPowerManagementLimit(device, static_cast<unsigned int>(watts * 1000.0 + 0.5));
  if (rc != kSuccess) {
    *error = Describe("nvmlDeviceSetPowerManagementLimit", rc);
    return false;
  }
  return true;
}

}  // namespace joule::nvml
