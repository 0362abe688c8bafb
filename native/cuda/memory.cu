// Device memory, copies and streams behind joule_cuda.h's staging entry points (the nccl backend).
#include <cuda_runtime.h>

#include "cuda/joule_cuda.h"

extern "C" {

int joule_cuda_set_device(int device) { return cudaSetDevice(device); }

int joule_cuda_malloc(void** pointer, size_t bytes) { return cudaMalloc(pointer, bytes); }

int joule_cuda_free(void* pointer) { return cudaFree(pointer); }

int joule_cuda_memcpy_async(void* target, const void* source, size_t bytes, int kind, void* stream) {
  const cudaMemcpyKind direction = kind == 1 ? cudaMemcpyHostToDevice : cudaMemcpyDeviceToHost;
  return cudaMemcpyAsync(target, source, bytes, direction, static_cast<cudaStream_t>(stream));
}

int joule_cuda_stream_create(void** stream) {
  // Non-blocking: the collectives' stream must not wait for work on the legacy default stream.
  return cudaStreamCreateWithFlags(reinterpret_cast<cudaStream_t*>(stream), cudaStreamNonBlocking);
}

int joule_cuda_stream_destroy(void* stream) { return cudaStreamDestroy(static_cast<cudaStream_t>(stream)); }

int joule_cuda_stream_synchronize(void* stream) { return cudaStreamSynchronize(static_cast<cudaStream_t>(stream)); }

int joule_cuda_stream_query(void* stream) { return cudaStreamQuery(static_cast<cudaStream_t>(stream)); }

}  // extern "C"
