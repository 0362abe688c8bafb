// CUDA module loader: dlopen libjoule_cuda.so, bind, and ask the driver for devices.
#include "gpu/cuda_module.h"

namespace joule::cuda {

bool CudaModule::Load(const std::string& addon_dir) {
  return LoadOnce("JOULE_CUDA_LIBRARY", {addon_dir + "/libjoule_cuda.so"}, "not found (built only when CMake finds nvcc): ");
}

void CudaModule::BindSymbols(dl::Library& library) {
  library.Bind(api_.Archs, "joule_cuda_archs");
  library.Bind(api_.ErrorString, "joule_cuda_error_string");
  library.Bind(api_.RuntimeVersion, "joule_cuda_runtime_version");
  library.Bind(api_.DeviceCount, "joule_cuda_device_count");
  library.Bind(api_.Cast, "joule_cuda_cast");
  library.Bind(api_.CastStats, "joule_cuda_cast_stats");
  library.Bind(api_.CastHost, "joule_cuda_cast_host");
  library.Bind(api_.CastBench, "joule_cuda_cast_bench");
  library.Bind(api_.SetDevice, "joule_cuda_set_device");
  library.Bind(api_.Malloc, "joule_cuda_malloc");
  library.Bind(api_.Free, "joule_cuda_free");
  library.Bind(api_.MemcpyAsync, "joule_cuda_memcpy_async");
  library.Bind(api_.StreamCreate, "joule_cuda_stream_create");
  library.Bind(api_.StreamDestroy, "joule_cuda_stream_destroy");
  library.Bind(api_.StreamSynchronize, "joule_cuda_stream_synchronize");
  library.Bind(api_.StreamQuery, "joule_cuda_stream_query");
}

bool CudaModule::Start() {
  api_.RuntimeVersion(&runtime_version_);
  int rc = api_.DeviceCount(&device_count_);
  if (rc != 0) {
    return Fail(std::string("cudaGetDeviceCount failed: driver error ") + std::to_string(rc) + ": " + api_.ErrorString(rc));
  }
  if (device_count_ == 0) {
    return Fail("no CUDA device visible (check CUDA_VISIBLE_DEVICES)");
  }
  return true;
}

}  // namespace joule::cuda
