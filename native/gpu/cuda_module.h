// Loads libjoule_cuda.so (the project's own CUDA kernels) at run time and reports why it can't.
#pragma once

#include <string>

#include "cuda/joule_cuda.h"
#include "dl/loader.h"

namespace joule::cuda {

struct Api {
  const char* (*Archs)() = nullptr;
  const char* (*ErrorString)(int) = nullptr;
  int (*RuntimeVersion)(int*) = nullptr;
  int (*DeviceCount)(int*) = nullptr;
  // Casts (native/cuda/cast.cu): device buffers on a stream, device buffers with statistics, host-staged.
  int (*Cast)(int, const void*, void*, size_t, float, void*) = nullptr;
  int (*CastStats)(int, const void*, void*, size_t, float, joule_cuda_cast_stats_t*, void*) = nullptr;
  int (*CastHost)(int, const void*, void*, size_t, float, joule_cuda_cast_stats_t*) = nullptr;
  int (*CastBench)(int, size_t, float, int, double*, double*) = nullptr;
  int (*SetDevice)(int) = nullptr;
  int (*Malloc)(void**, size_t) = nullptr;
  int (*Free)(void*) = nullptr;
  int (*MemcpyAsync)(void*, const void*, size_t, int, void*) = nullptr;
  int (*StreamCreate)(void**) = nullptr;
  int (*StreamDestroy)(void*) = nullptr;
  int (*StreamSynchronize)(void*) = nullptr;
  int (*StreamQuery)(void*) = nullptr;
};

class CudaModule : public dl::Loader {
 public:
  // `addon_dir` is where joule.node lives; the module is built next to it.
  bool Load(const std::string& addon_dir);
  // True when the library itself loaded (the archs are known) even if no GPU can run it.
  bool loaded() const { return library_.IsOpen() && api_.Archs != nullptr; }
  std::string archs() const { return loaded() ? api_.Archs() : ""; }
  int deviceCount() const { return device_count_; }
  int runtimeVersion() const { return runtime_version_; }
  const Api& api() const { return api_; }

 private:
  void BindSymbols(dl::Library& library) override;
  bool Start() override;
  int device_count_ = 0;
  int runtime_version_ = 0;
  Api api_;
};

}  // namespace joule::cuda
