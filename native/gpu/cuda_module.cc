// CUDA module loader: dlopen libjoule_cuda.so, bind, and ask the driver for devices.
#include "gpu/cuda_module.h"

#include "dl/join.h"

namespace joule::cuda {

bool CudaModule::Load(const std::string& addon_dir) {
  if (attempted_) return usable_;
  attempted_ = true;
  if (!library_.Open(dl::Candidates("JOULE_CUDA_LIBRARY", {addon_dir + "/libjoule_cuda.so"}))) {
    reason_ = "not found (built only when CMake finds nvcc): " + library_.error();
    return false;
  }
  library_.Bind(api_.Archs, "joule_cuda_archs");
  library_.Bind(api_.ErrorString, "joule_cuda_error_string");
  library_.Bind(api_.RuntimeVersion, "joule_cuda_runtime_version");
  library_.Bind(api_.DeviceCount, "joule_cuda_device_count");
  library_.Bind(api_.Cast, "joule_cuda_cast");
  library_.Bind(api_.CastStats, "joule_cuda_cast_stats");
  library_.Bind(api_.CastHost, "joule_cuda_cast_host");
  library_.Bind(api_.CastBench, "joule_cuda_cast_bench");
  library_.Bind(api_.SetDevice, "joule_cuda_set_device");
  library_.Bind(api_.Malloc, "joule_cuda_malloc");
  library_.Bind(api_.Free, "joule_cuda_free");
  library_.Bind(api_.MemcpyAsync, "joule_cuda_memcpy_async");
  library_.Bind(api_.StreamCreate, "joule_cuda_stream_create");
  library_.Bind(api_.StreamDestroy, "joule_cuda_stream_destroy");
  library_.Bind(api_.StreamSynchronize, "joule_cuda_stream_synchronize");
  library_.Bind(api_.StreamQuery, "joule_cuda_stream_query");
  if (!library_.missing().empty()) {
    reason_ = "symbol missing in " + library_.path() + ": " + dl::Join(library_.missing(), ", ");
    return false;
  }
  api_.RuntimeVersion(&runtime_version_);
  int rc = api_.DeviceCount(&device_count_);
  if (rc != 0) {
    reason_ = std::string("cudaGetDeviceCount failed: driver error ") + std::to_string(rc) + ": " +
              api_.ErrorString(rc);
    return false;
  }
  if (device_count_ == 0) {
    reason_ = "no CUDA device visible (check CUDA_VISIBLE_DEVICES)";
    return false;
  }
  usable_ = true;
  return true;
}

}  // namespace joule::cuda
