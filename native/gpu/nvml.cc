// NVML loader: dlopen, per-symbol binding, init, device descriptions.
#include "gpu/nvml.h"

namespace joule::nvml {

bool Nvml::Load() {
  return LoadOnce("JOULE_NVML_LIBRARY", {"libnvidia-ml.so.1", "libnvidia-ml.so"}, "not found: ");
}

void Nvml::BindSymbols(dl::Library& library) {
  library.Bind(api_.Init, "nvmlInit_v2");
  library.Bind(api_.Shutdown, "nvmlShutdown");
  library.Bind(api_.ErrorString, "nvmlErrorString");
  library.Bind(api_.SystemGetDriverVersion, "nvmlSystemGetDriverVersion");
  library.Bind(api_.DeviceGetCount, "nvmlDeviceGetCount_v2");
  library.Bind(api_.DeviceGetHandleByIndex, "nvmlDeviceGetHandleByIndex_v2");
  library.Bind(api_.DeviceGetName, "nvmlDeviceGetName");
  library.Bind(api_.DeviceGetUUID, "nvmlDeviceGetUUID");
  library.Bind(api_.DeviceGetPowerUsage, "nvmlDeviceGetPowerUsage");
  library.BindOptional(api_.DeviceGetTotalEnergyConsumption, "nvmlDeviceGetTotalEnergyConsumption");
  library.BindOptional(api_.DeviceGetEnforcedPowerLimit, "nvmlDeviceGetEnforcedPowerLimit");
  library.BindOptional(api_.DeviceGetUtilizationRates, "nvmlDeviceGetUtilizationRates");
  library.BindOptional(api_.DeviceGetClockInfo, "nvmlDeviceGetClockInfo");
  library.BindOptional(api_.DeviceGetTemperature, "nvmlDeviceGetTemperature");
  library.BindOptional(api_.DeviceGetPowerManagementLimit, "nvmlDeviceGetPowerManagementLimit");
  library.BindOptional(api_.DeviceGetPowerManagementLimitConstraints, "nvmlDeviceGetPowerManagementLimitConstraints");
  library.BindOptional(api_.DeviceGetPowerManagementDefaultLimit, "nvmlDeviceGetPowerManagementDefaultLimit");
  library.BindOptional(api_.DeviceSetPowerManagementLimit, "nvmlDeviceSetPowerManagementLimit");
}

bool Nvml::Start() {
  Return rc = api_.Init();
  if (rc != kSuccess) {
    return Fail(Describe("nvmlInit_v2", rc));
  }
  char driver[kDriverBufferSize] = {0};
  if (api_.SystemGetDriverVersion(driver, sizeof driver) == kSuccess) driver_ = driver;
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
