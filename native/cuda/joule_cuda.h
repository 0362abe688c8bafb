// The C interface of libjoule_cuda.so: what the addon may call after dlopen'ing it.
// Every function returns a cudaError_t code (0 = success); joule_cuda_error_string explains one.
#pragma once

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

// Quantization statistics of a cast, as native/cast/convert.h defines them (the double sums are added
// in a varying order on the device, so they may differ from the CPU's in the last bits; counts do not).
typedef struct joule_cuda_cast_stats_t {
  double sum_squared_error;
  double sum_squared;
  unsigned long long non_finite;
  unsigned long long overflow;
  unsigned long long underflow;
} joule_cuda_cast_stats_t;

// The architectures the library was compiled for, as CMake listed them (e.g. "80-real,90").
const char* joule_cuda_archs(void);
const char* joule_cuda_error_string(int code);
int joule_cuda_runtime_version(int* version);
int joule_cuda_device_count(int* count);

// Casts `count` elements between device buffers; `direction` is joule::cast::Direction's index
// (0 f32->bf16, 1 f32->f16, 2 bf16->f32, 3 f16->f32, 4 f64->f32, 5 f32->f64, 6 f32->f32) and `scale`
// multiplies as on the CPU (1 = none). `stream` is a cudaStream_t (NULL = the default stream); the call
// only enqueues.
int joule_cuda_cast(int direction, const void* input, void* output, size_t count, float scale, void* stream);
// The same plus statistics in the same pass; `output` may be NULL (statistics only). Waits for `stream`.
int joule_cuda_cast_stats(int direction, const void* input, void* output, size_t count, float scale,
                          joule_cuda_cast_stats_t* stats, void* stream);
// Benchmark: `iterations` casts of `count` elements between device buffers (filled on the device) and
// as many device-to-device copies moving the same bytes (read + written), each timed with CUDA events.
int joule_cuda_cast_bench(int direction, size_t count, float scale, int iterations, double* cast_seconds,
                          double* copy_seconds);
// Host memory in and out, staged through device buffers (for tests and host-side callers); `stats` may
// be NULL, `output` may be NULL when `stats` is not. Synchronous.
int joule_cuda_cast_host(int direction, const void* input, void* output, size_t count, float scale,
                         joule_cuda_cast_stats_t* stats);

// Device memory and streams for host-staged collectives (the nccl backend). `kind` is 1 for host to
// device, 2 for device to host; joule_cuda_memcpy_async enqueues on `stream`. joule_cuda_stream_query
// returns 0 when the stream's work is done and cudaErrorNotReady (600) while it runs.
int joule_cuda_set_device(int device);
int joule_cuda_malloc(void** pointer, size_t bytes);
int joule_cuda_free(void* pointer);
int joule_cuda_memcpy_async(void* target, const void* source, size_t bytes, int kind, void* stream);
int joule_cuda_stream_create(void** stream);
int joule_cuda_stream_destroy(void* stream);
int joule_cuda_stream_synchronize(void* stream);
int joule_cuda_stream_query(void* stream);

#ifdef __cplusplus
}
#endif
