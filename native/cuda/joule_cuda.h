// The C interface of libjoule_cuda.so: what the addon may call after dlopen'ing it.
// Every function returns a cudaError_t code (0 = success); joule_cuda_error_string explains one.
#pragma once

#ifdef __cplusplus
extern "C" {
#endif

// The architectures the library was compiled for, as CMake listed them (e.g. "80-real,90").
const char* joule_cuda_archs(void);
const char* joule_cuda_error_string(int code);
int joule_cuda_runtime_version(int* version);
int joule_cuda_device_count(int* count);

#ifdef __cplusplus
}
#endif
