/* A fake libnvidia-ml.so.1 for tests: JOULE_FAKE_NVML_GPUS devices (default 2) that draw a constant
 * JOULE_FAKE_NVML_POWER_W (default 100 W) and count energy from the time nvmlInit was called. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef int nvmlReturn_t;
typedef struct FakeDevice { unsigned int index; } *nvmlDevice_t;
typedef struct { unsigned int gpu, memory; } nvmlUtilization_t;

enum { MAX_DEVICES = 16 };
static struct FakeDevice devices[MAX_DEVICES];
static int initialised = 0;
static double start_s = 0;

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static unsigned int device_count(void) {
  const char* value = getenv("JOULE_FAKE_NVML_GPUS");
  unsigned int count = value ? (unsigned int)atoi(value) : 2;
  return count > MAX_DEVICES ? MAX_DEVICES : count;
}

static double power_w(void) {
  const char* value = getenv("JOULE_FAKE_NVML_POWER_W");
  return value ? atof(value) : 100.0;
}

nvmlReturn_t nvmlInit_v2(void) {
  const char* fail = getenv("JOULE_FAKE_NVML_INIT_ERROR");
  if (fail) return atoi(fail);
  initialised = 1;
  start_s = now_s();
  return 0;
}

nvmlReturn_t nvmlShutdown(void) {
  initialised = 0;
  return 0;
}

const char* nvmlErrorString(nvmlReturn_t code) {
  switch (code) {
    case 0: return "Success";
    case 1: return "Uninitialized";
    case 3: return "Not Supported";
    case 4: return "Insufficient Permissions";
    case 9: return "Driver Not Loaded";
    default: return "Unknown Error";
  }
}

nvmlReturn_t nvmlSystemGetDriverVersion(char* version, unsigned int length) {
  snprintf(version, length, "999.99-fake");
  return 0;
}

nvmlReturn_t nvmlDeviceGetCount_v2(unsigned int* count) {
  if (!initialised) return 1;
  *count = device_count();
  return 0;
}

nvmlReturn_t nvmlDeviceGetHandleByIndex_v2(unsigned int index, nvmlDevice_t* device) {
  if (!initialised) return 1;
  if (index >= device_count()) return 2; /* NVML_ERROR_INVALID_ARGUMENT */
  devices[index].index = index;
  *device = &devices[index];
  return 0;
}

nvmlReturn_t nvmlDeviceGetName(nvmlDevice_t device, char* name, unsigned int length) {
  snprintf(name, length, "Fake GPU %u", device->index);
  return 0;
}

nvmlReturn_t nvmlDeviceGetUUID(nvmlDevice_t device, char* uuid, unsigned int length) {
  snprintf(uuid, length, "GPU-fa4e0000-0000-0000-0000-%012u", device->index);
  return 0;
}

#ifndef FAKE_NVML_OMIT_POWER_USAGE
nvmlReturn_t nvmlDeviceGetPowerUsage(nvmlDevice_t device, unsigned int* milliwatts) {
  (void)device;
  *milliwatts = (unsigned int)(power_w() * 1000.0);
  return 0;
}
#endif

nvmlReturn_t nvmlDeviceGetTotalEnergyConsumption(nvmlDevice_t device, unsigned long long* millijoules) {
  (void)device;
  *millijoules = (unsigned long long)((now_s() - start_s) * power_w() * 1000.0);
  return 0;
}

nvmlReturn_t nvmlDeviceGetEnforcedPowerLimit(nvmlDevice_t device, unsigned int* milliwatts) {
  (void)device;
  *milliwatts = 400000;
  return 0;
}

nvmlReturn_t nvmlDeviceGetUtilizationRates(nvmlDevice_t device, nvmlUtilization_t* utilization) {
  (void)device;
  utilization->gpu = 50;
  utilization->memory = 20;
  return 0;
}

nvmlReturn_t nvmlDeviceGetClockInfo(nvmlDevice_t device, unsigned int type, unsigned int* mhz) {
  (void)device;
  (void)type;
  *mhz = 1410;
  return 0;
}

nvmlReturn_t nvmlDeviceGetTemperature(nvmlDevice_t device, unsigned int sensor, unsigned int* celsius) {
  (void)device;
  (void)sensor;
  *celsius = 45;
  return 0;
}
