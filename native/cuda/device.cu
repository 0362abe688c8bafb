// Device discovery for libjoule_cuda.so.
#include <cuda_runtime.h>

#include "cuda/joule_cuda.h"

extern "C" {

const char* joule_cuda_archs(void) { return JOULE_CUDA_ARCHS; }

const char* joule_cuda_error_string(int code) {
  return cudaGetErrorString(static_cast<cudaError_t>(code));
}

int joule_cuda_runtime_version(int* version) { return cudaRuntimeGetVersion(version); }

int joule_cuda_device_count(int* count) {
  *count = 0;
  return cudaGetDeviceCount(count);
}

}
