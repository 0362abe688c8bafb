/* A fake libnvidia-ml.so.1 for tests: JOULE_FAKE_NVML_GPUS devices (default 2) that draw a constant
 * JOULE_FAKE_NVML_POWER_W (default 100 W) and count energy from the time nvmlInit was called.
 * JOULE_FAKE_NVML_TRACE names a script that replaces the constant per device, so tests can integrate
 * analytically; its lines (times in seconds after `origin`, a CLOCK_MONOTONIC time, default nvmlInit):
 *   origin <monotonic seconds>
 *   power <gpu> <t> <watts>              piecewise-linear power through these points (sorted by t)
 *   no-counter <gpu>                     nvmlDeviceGetTotalEnergyConsumption returns NOT_SUPPORTED
 *   reset <gpu> <t>                      the energy counter restarts from 0 at t (a driver reload)
 *   error <gpu> <energy|power> <from> <to> <code>   that call returns <code> while from <= t < to */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef int nvmlReturn_t;
typedef struct FakeDevice { unsigned int index; } *nvmlDevice_t;
typedef struct { unsigned int gpu, memory; } nvmlUtilization_t;

enum { MAX_DEVICES = 16, MAX_POINTS = 64, MAX_ERRORS = 8 };
static struct FakeDevice devices[MAX_DEVICES];
static int initialised = 0;
static double start_s = 0;

struct ErrorSpan { int energy; double from, to; int code; };
struct Script {
  int points;
  double t[MAX_POINTS], watts[MAX_POINTS];
  int no_counter;
  double reset_at; /* < 0: never */
  int errors;
  struct ErrorSpan error[MAX_ERRORS];
};
static struct Script scripts[MAX_DEVICES];

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

static double constant_power_w(void) {
  const char* value = getenv("JOULE_FAKE_NVML_POWER_W");
  return value ? atof(value) : 100.0;
}

/* Reads JOULE_FAKE_NVML_TRACE; unknown lines are ignored so scripts can carry comments. */
static void load_script(void) {
  memset(scripts, 0, sizeof scripts);
  for (int i = 0; i < MAX_DEVICES; ++i) scripts[i].reset_at = -1;
  const char* path = getenv("JOULE_FAKE_NVML_TRACE");
  if (!path) return;
  FILE* file = fopen(path, "r");
  if (!file) return;
  char line[256], call[16];
  unsigned int gpu;
  double a, b;
  int code;
  while (fgets(line, sizeof line, file)) {
    if (sscanf(line, "origin %lf", &a) == 1) {
      start_s = a;
    } else if (sscanf(line, "power %u %lf %lf", &gpu, &a, &b) == 3 && gpu < MAX_DEVICES &&
               scripts[gpu].points < MAX_POINTS) {
      struct Script* s = &scripts[gpu];
      s->t[s->points] = a;
      s->watts[s->points] = b;
      s->points++;
    } else if (sscanf(line, "reset %u %lf", &gpu, &a) == 2 && gpu < MAX_DEVICES) {
      scripts[gpu].reset_at = a;
    } else if (sscanf(line, "no-counter %u", &gpu) == 1 && gpu < MAX_DEVICES) {
      scripts[gpu].no_counter = 1;
    } else if (sscanf(line, "error %u %15s %lf %lf %d", &gpu, call, &a, &b, &code) == 5 &&
               gpu < MAX_DEVICES && scripts[gpu].errors < MAX_ERRORS) {
      struct ErrorSpan* e = &scripts[gpu].error[scripts[gpu].errors++];
      e->energy = strcmp(call, "energy") == 0;
      e->from = a;
      e->to = b;
      e->code = code;
    }
  }
  fclose(file);
}

/* Power at time t (seconds after the origin): linear between points, constant outside them. */
static double power_at(unsigned int gpu, double t) {
  const struct Script* s = &scripts[gpu];
  if (s->points == 0) return constant_power_w();
  if (t <= s->t[0]) return s->watts[0];
  for (int i = 1; i < s->points; ++i) {
    if (t <= s->t[i]) {
      double f = (t - s->t[i - 1]) / (s->t[i] - s->t[i - 1]);
      return s->watts[i - 1] + f * (s->watts[i] - s->watts[i - 1]);
    }
  }
  return s->watts[s->points - 1];
}

/* The exact integral of power_at from 0 to t, in joules (trapezoids are exact on linear pieces). */
static double energy_until(unsigned int gpu, double t) {
  const struct Script* s = &scripts[gpu];
  if (t <= 0) return 0;
  if (s->points == 0) return t * constant_power_w();
  double joules = 0, previous = 0;
  for (int i = 0; i < s->points && s->t[i] < t; ++i) {
    if (s->t[i] > previous) {
      joules += (s->t[i] - previous) * (power_at(gpu, previous) + s->watts[i]) / 2;
      previous = s->t[i];
    }
  }
  return joules + (t - previous) * (power_at(gpu, previous) + power_at(gpu, t)) / 2;
}

static int scripted_error(unsigned int gpu, int energy, double t) {
  const struct Script* s = &scripts[gpu];
  for (int i = 0; i < s->errors; ++i) {
    if (s->error[i].energy == energy && t >= s->error[i].from && t < s->error[i].to) return s->error[i].code;
  }
  return 0;
}

nvmlReturn_t nvmlInit_v2(void) {
  const char* fail = getenv("JOULE_FAKE_NVML_INIT_ERROR");
  if (fail) return atoi(fail);
  initialised = 1;
  start_s = now_s();
  load_script();
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
    case 2: return "Invalid Argument";
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
  double t = now_s() - start_s;
  int error = scripted_error(device->index, 0, t);
  if (error) return error;
  *milliwatts = (unsigned int)(power_at(device->index, t) * 1000.0 + 0.5);
  return 0;
}
#endif

nvmlReturn_t nvmlDeviceGetTotalEnergyConsumption(nvmlDevice_t device, unsigned long long* millijoules) {
  if (scripts[device->index].no_counter) return 3; /* NVML_ERROR_NOT_SUPPORTED */
  double t = now_s() - start_s;
  int error = scripted_error(device->index, 1, t);
  if (error) return error;
  double reset_at = scripts[device->index].reset_at;
  double joules = energy_until(device->index, t);
  if (reset_at >= 0 && t >= reset_at) joules -= energy_until(device->index, reset_at);
  *millijoules = (unsigned long long)(joules * 1000.0);
  return 0;
}

/* Power limits persist across processes as on a real driver: JOULE_FAKE_NVML_LIMIT_FILE holds one
 * line per GPU (milliwatts); without it every GPU reports the default 400 W and setting is refused
 * with NO_PERMISSION, as for a user who is not root. JOULE_FAKE_NVML_LIMIT_RANGE_MW="min max". */
enum { DEFAULT_LIMIT_MW = 400000 };

static void limit_range(unsigned int* min_mw, unsigned int* max_mw) {
  const char* value = getenv("JOULE_FAKE_NVML_LIMIT_RANGE_MW");
  *min_mw = 100000;
  *max_mw = 500000;
  if (value) sscanf(value, "%u %u", min_mw, max_mw);
}

static unsigned int read_limit(unsigned int gpu) {
  const char* path = getenv("JOULE_FAKE_NVML_LIMIT_FILE");
  unsigned int limits[MAX_DEVICES], n = 0, value;
  FILE* file = path ? fopen(path, "r") : NULL;
  if (!file) return DEFAULT_LIMIT_MW;
  while (n < MAX_DEVICES && fscanf(file, "%u", &value) == 1) limits[n++] = value;
  fclose(file);
  return gpu < n ? limits[gpu] : DEFAULT_LIMIT_MW;
}

nvmlReturn_t nvmlDeviceGetEnforcedPowerLimit(nvmlDevice_t device, unsigned int* milliwatts) {
  *milliwatts = read_limit(device->index);
  return 0;
}

nvmlReturn_t nvmlDeviceGetPowerManagementLimit(nvmlDevice_t device, unsigned int* milliwatts) {
  *milliwatts = read_limit(device->index);
  return 0;
}

nvmlReturn_t nvmlDeviceGetPowerManagementDefaultLimit(nvmlDevice_t device, unsigned int* milliwatts) {
  (void)device;
  *milliwatts = DEFAULT_LIMIT_MW;
  return 0;
}

nvmlReturn_t nvmlDeviceGetPowerManagementLimitConstraints(nvmlDevice_t device, unsigned int* min_mw, unsigned int* max_mw) {
  (void)device;
  limit_range(min_mw, max_mw);
  return 0;
}

nvmlReturn_t nvmlDeviceSetPowerManagementLimit(nvmlDevice_t device, unsigned int milliwatts) {
  const char* path = getenv("JOULE_FAKE_NVML_LIMIT_FILE");
  unsigned int min_mw, max_mw, limits[MAX_DEVICES];
  if (!path) return 4; /* NVML_ERROR_NO_PERMISSION */
  limit_range(&min_mw, &max_mw);
  if (milliwatts < min_mw || milliwatts > max_mw) return 2; /* NVML_ERROR_INVALID_ARGUMENT */
  for (unsigned int i = 0; i < MAX_DEVICES; ++i) limits[i] = read_limit(i);
  limits[device->index] = milliwatts;
  FILE* file = fopen(path, "w");
  if (!file) return 999;
  for (unsigned int i = 0; i < device_count(); ++i) fprintf(file, "%u\n", limits[i]);
  fclose(file);
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
