/* A fake libjoule_cuda.so for tests of the nccl backend without a GPU: "device" memory is host memory
 * (malloc/memcpy), streams are tokens, and JOULE_FAKE_CUDA_DEVICES says how many devices there are
 * (default 1). JOULE_FAKE_CUDA_STREAM_HANG=1 makes every stream report "not ready" forever, so only the
 * NCCL async-error poll can end a collective. The cast kernels are not faked: they return
 * cudaErrorNotSupported (801). */
#include <stdlib.h>
#include <string.h>

typedef struct joule_cuda_cast_stats_t joule_cuda_cast_stats_t;

static int fake_stream_token;

const char* joule_cuda_archs(void) { return "fake"; }

const char* joule_cuda_error_string(int code) {
  switch (code) {
    case 0: return "no error";
    case 2: return "out of memory (fake)";
    case 600: return "device not ready (fake)";
    case 801: return "operation not supported (fake CUDA module)";
    default: return "unknown error (fake CUDA module)";
  }
}

int joule_cuda_runtime_version(int* version) {
  *version = 12000;
  return 0;
}

int joule_cuda_device_count(int* count) {
  const char* value = getenv("JOULE_FAKE_CUDA_DEVICES");
  *count = value ? atoi(value) : 1;
  return 0;
}

int joule_cuda_cast(int direction, const void* input, void* output, size_t count, float scale, void* stream) {
  (void)direction; (void)input; (void)output; (void)count; (void)scale; (void)stream;
  return 801;
}

int joule_cuda_cast_stats(int direction, const void* input, void* output, size_t count, float scale,
                          joule_cuda_cast_stats_t* stats, void* stream) {
  (void)direction; (void)input; (void)output; (void)count; (void)scale; (void)stats; (void)stream;
  return 801;
}

int joule_cuda_cast_bench(int direction, size_t count, float scale, int iterations, double* cast_seconds,
                          double* copy_seconds) {
  (void)direction; (void)count; (void)scale; (void)iterations; (void)cast_seconds; (void)copy_seconds;
  return 801;
}

int joule_cuda_cast_host(int direction, const void* input, void* output, size_t count, float scale,
                         joule_cuda_cast_stats_t* stats) {
  (void)direction; (void)input; (void)output; (void)count; (void)scale; (void)stats;
  return 801;
}

int joule_cuda_set_device(int device) {
  int count = 0;
  joule_cuda_device_count(&count);
  return device >= 0 && device < count ? 0 : 101; /* cudaErrorInvalidDevice */
}

int joule_cuda_malloc(void** pointer, size_t bytes) {
  *pointer = malloc(bytes ? bytes : 1);
  return *pointer ? 0 : 2;
}

int joule_cuda_free(void* pointer) {
  free(pointer);
  return 0;
}

int joule_cuda_memcpy_async(void* target, const void* source, size_t bytes, int kind, void* stream) {
  (void)kind; (void)stream;
  if (bytes) memcpy(target, source, bytes);
  return 0;
}

int joule_cuda_stream_create(void** stream) {
  *stream = &fake_stream_token;
  return 0;
}

int joule_cuda_stream_destroy(void* stream) {
  (void)stream;
  return 0;
}

int joule_cuda_stream_synchronize(void* stream) {
  (void)stream;
  return 0;
}

int joule_cuda_stream_query(void* stream) {
  (void)stream;
  const char* hang = getenv("JOULE_FAKE_CUDA_STREAM_HANG");
  return hang && hang[0] == '1' ? 600 : 0;
}
