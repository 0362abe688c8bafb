// The few NVML types and entry points joule uses, declared here because nvml.h is not always installed.
#pragma once

#include <cstdint>

namespace joule::nvml {

using Return = int;  // nvmlReturn_t
using Device = struct DeviceOpaque*;  // nvmlDevice_t

constexpr Return kSuccess = 0;
constexpr Return kErrorNotSupported = 3;
constexpr Return kErrorNoPermission = 4;

struct Utilization {  // nvmlUtilization_t
  unsigned int gpu;
  unsigned int memory;
};

constexpr unsigned int kClockSm = 1;          // NVML_CLOCK_SM
constexpr unsigned int kTemperatureGpu = 0;   // NVML_TEMPERATURE_GPU
constexpr unsigned int kNameBufferSize = 96;  // NVML_DEVICE_NAME_V2_BUFFER_SIZE
constexpr unsigned int kUuidBufferSize = 96;  // NVML_DEVICE_UUID_V2_BUFFER_SIZE
constexpr unsigned int kDriverBufferSize = 80;

struct Api {
  // Required: without these NVML is unusable.
  Return (*Init)() = nullptr;                                      // nvmlInit_v2
  Return (*Shutdown)() = nullptr;                                  // nvmlShutdown
  const char* (*ErrorString)(Return) = nullptr;                    // nvmlErrorString
  Return (*SystemGetDriverVersion)(char*, unsigned int) = nullptr;
  Return (*DeviceGetCount)(unsigned int*) = nullptr;               // nvmlDeviceGetCount_v2
  Return (*DeviceGetHandleByIndex)(unsigned int, Device*) = nullptr;  // _v2
  Return (*DeviceGetName)(Device, char*, unsigned int) = nullptr;
  Return (*DeviceGetUUID)(Device, char*, unsigned int) = nullptr;
  Return (*DeviceGetPowerUsage)(Device, unsigned int*) = nullptr;  // mW
  // Optional: older GPUs or drivers lack them; callers fall back.
  Return (*DeviceGetTotalEnergyConsumption)(Device, unsigned long long*) = nullptr;  // mJ
  Return (*DeviceGetEnforcedPowerLimit)(Device, unsigned int*) = nullptr;            // mW
  Return (*DeviceGetUtilizationRates)(Device, Utilization*) = nullptr;
  Return (*DeviceGetClockInfo)(Device, unsigned int, unsigned int*) = nullptr;       // MHz
  Return (*DeviceGetTemperature)(Device, unsigned int, unsigned int*) = nullptr;     // °C
  // Power-limit control (sweeps): setting needs root or the admin's permission on real nodes.
  Return (*DeviceGetPowerManagementLimit)(Device, unsigned int*) = nullptr;          // mW
  Return (*DeviceGetPowerManagementLimitConstraints)(Device, unsigned int*, unsigned int*) = nullptr;  // mW
  Return (*DeviceGetPowerManagementDefaultLimit)(Device, unsigned int*) = nullptr;   // mW
  Return (*DeviceSetPowerManagementLimit)(Device, unsigned int) = nullptr;           // mW
};

}  // namespace joule::nvml
