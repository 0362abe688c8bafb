// CUDA cast kernels for libjoule_cuda.so: grid-stride loops moving 8 elements per step with 16-byte
// loads and stores, the element math from cast/scalar.h (the same definition the CPU paths match), and
// one fused kernel that also scales and gathers the quantization statistics in the same pass.
#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "cast/scalar.h"
#include "cuda/joule_cuda.h"

namespace {

using namespace joule::cast;

constexpr int kThreads = 256;
constexpr int kVector = 8;  // elements per step: 16, 32 or 64 bytes, always whole 16-byte words

template <typename T>
struct alignas(16) Pack {
  T values[kVector];
};

// The element operations, one per direction (joule::cast::Direction's order), with the fused scale.
struct F32ToBf16Op {
  using Source = float;
  using Target = uint16_t;
  __device__ static Target Apply(Source x, float scale, bool scaled) { return F32ToBf16(scaled ? Scale(x, scale) : x); }
  __device__ static double Read(Target y) { return Bf16ToF32(y); }
};
struct F32ToF16Op {
  using Source = float;
  using Target = uint16_t;
  __device__ static Target Apply(Source x, float scale, bool scaled) { return F32ToF16(scaled ? Scale(x, scale) : x); }
  __device__ static double Read(Target y) { return F16ToF32(y); }
};
struct Bf16ToF32Op {
  using Source = uint16_t;
  using Target = float;
  __device__ static Target Apply(Source x, float scale, bool scaled) {
    float y = Bf16ToF32(x);
    return scaled ? Scale(y, scale) : y;
  }
  __device__ static double Read(Target y) { return y; }
};
struct F16ToF32Op {
  using Source = uint16_t;
  using Target = float;
  __device__ static Target Apply(Source x, float scale, bool scaled) {
    float y = F16ToF32(x);
    return scaled ? Scale(y, scale) : y;
  }
  __device__ static double Read(Target y) { return y; }
};
struct F64ToF32Op {
  using Source = double;
  using Target = float;
  __device__ static Target Apply(Source x, float scale, bool scaled) {
    return F64ToF32(scaled ? Scale(x, static_cast<double>(scale)) : x);
  }
  __device__ static double Read(Target y) { return y; }
};
struct F32ToF64Op {
  using Source = float;
  using Target = double;
  __device__ static Target Apply(Source x, float scale, bool scaled) {
    double y = F32ToF64(x);
    return scaled ? Scale(y, static_cast<double>(scale)) : y;
  }
  __device__ static double Read(Target y) { return y; }
};
struct F32ToF32Op {
  using Source = float;
  using Target = float;
  __device__ static Target Apply(Source x, float scale, bool scaled) { return scaled ? Scale(x, scale) : x; }
  __device__ static double Read(Target y) { return y; }
};

__device__ double Widen(float x) { return x; }
__device__ double Widen(double x) { return x; }

template <typename Op>
__device__ double ReadSource(typename Op::Source x) {
  if constexpr (std::is_same<Op, Bf16ToF32Op>::value) return Bf16ToF32(x);
  else if constexpr (std::is_same<Op, F16ToF32Op>::value) return F16ToF32(x);
  else return Widen(x);
}

struct DeviceStats {
  double sumSquaredError;
  double sumSquared;
  unsigned long long nonFinite;
  unsigned long long overflow;
  unsigned long long underflow;
};

template <typename Op>
__device__ void Observe(typename Op::Source x, typename Op::Target y, double scale, DeviceStats& s) {
  double value = ReadSource<Op>(x);
  if (!isfinite(value)) {
    ++s.nonFinite;
    return;
  }
  double c = Op::Read(y);
  if (isinf(c)) {
    ++s.overflow;
    return;
  }
  double r = value * scale;
  if (c == 0 && r != 0) ++s.underflow;
  double e = r - c;
  s.sumSquaredError += e * e;
  s.sumSquared += r * r;
}

// `vectorized` means both pointers are 16-byte aligned: whole packs move with 16-byte instructions and
// the last count % 8 elements one by one; otherwise every element goes one by one.
template <typename Op, bool kStats>
__global__ void CastKernel(const typename Op::Source* __restrict__ in, typename Op::Target* __restrict__ out,
                           size_t count, float scale, bool vectorized, DeviceStats* stats) {
  using Source = typename Op::Source;
  using Target = typename Op::Target;
  const bool scaled = scale != 1.0f;
  const double scale64 = scale;
  const size_t stride = static_cast<size_t>(gridDim.x) * blockDim.x;
  const size_t first = static_cast<size_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  DeviceStats local{};
  size_t done = 0;
  if (vectorized) {
    const size_t packs = count / kVector;
    auto* in_packs = reinterpret_cast<const Pack<Source>*>(in);
    auto* out_packs = reinterpret_cast<Pack<Target>*>(out);
    for (size_t p = first; p < packs; p += stride) {
      Pack<Source> source = in_packs[p];
      Pack<Target> target;
#pragma unroll
      for (int k = 0; k < kVector; ++k) {
        target.values[k] = Op::Apply(source.values[k], scale, scaled);
        if (kStats) Observe<Op>(source.values[k], target.values[k], scale64, local);
      }
      if (out != nullptr) out_packs[p] = target;
    }
    done = packs * kVector;
  }
  for (size_t i = done + first; i < count; i += stride) {
    Target y = Op::Apply(in[i], scale, scaled);
    if (kStats) Observe<Op>(in[i], y, scale64, local);
    if (out != nullptr) out[i] = y;
  }
  if (kStats) {
    // Warp sums first, then one atomic per warp: the order of the double sums (not the counts) varies.
    for (int offset = 16; offset > 0; offset /= 2) {
      local.sumSquaredError += __shfl_down_sync(0xFFFFFFFFu, local.sumSquaredError, offset);
      local.sumSquared += __shfl_down_sync(0xFFFFFFFFu, local.sumSquared, offset);
      local.nonFinite += __shfl_down_sync(0xFFFFFFFFu, local.nonFinite, offset);
      local.overflow += __shfl_down_sync(0xFFFFFFFFu, local.overflow, offset);
      local.underflow += __shfl_down_sync(0xFFFFFFFFu, local.underflow, offset);
    }
    if ((threadIdx.x & 31) == 0) {
      atomicAdd(&stats->sumSquaredError, local.sumSquaredError);
      atomicAdd(&stats->sumSquared, local.sumSquared);
      atomicAdd(&stats->nonFinite, local.nonFinite);
      atomicAdd(&stats->overflow, local.overflow);
      atomicAdd(&stats->underflow, local.underflow);
    }
  }
}

int GridFor(size_t items) {
  static int sms = 0;
  if (sms == 0) {
    int device = 0;
    if (cudaGetDevice(&device) != cudaSuccess ||
        cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device) != cudaSuccess || sms <= 0) {
      sms = 80;
    }
  }
  size_t blocks = (items + kThreads - 1) / kThreads;
  size_t cap = static_cast<size_t>(sms) * 8;  // enough resident blocks to cover memory latency
  return static_cast<int>(blocks < 1 ? 1 : (blocks < cap ? blocks : cap));
}

template <typename Op>
int Launch(const void* input, void* output, size_t count, float scale, DeviceStats* stats, cudaStream_t stream) {
  if (count == 0) return cudaSuccess;
  auto* in = static_cast<const typename Op::Source*>(input);
  auto* out = static_cast<typename Op::Target*>(output);
  bool vectorized = reinterpret_cast<uintptr_t>(in) % 16 == 0 && reinterpret_cast<uintptr_t>(out) % 16 == 0;
  int grid = GridFor(vectorized ? count / kVector + kVector : count);
  if (stats != nullptr) {
    CastKernel<Op, true><<<grid, kThreads, 0, stream>>>(in, out, count, scale, vectorized, stats);
  } else {
    CastKernel<Op, false><<<grid, kThreads, 0, stream>>>(in, out, count, scale, vectorized, nullptr);
  }
  return cudaGetLastError();
}

int Dispatch(int direction, const void* input, void* output, size_t count, float scale, DeviceStats* stats,
             cudaStream_t stream) {
  switch (direction) {
    case 0: return Launch<F32ToBf16Op>(input, output, count, scale, stats, stream);
    case 1: return Launch<F32ToF16Op>(input, output, count, scale, stats, stream);
    case 2: return Launch<Bf16ToF32Op>(input, output, count, scale, stats, stream);
    case 3: return Launch<F16ToF32Op>(input, output, count, scale, stats, stream);
    case 4: return Launch<F64ToF32Op>(input, output, count, scale, stats, stream);
    case 5: return Launch<F32ToF64Op>(input, output, count, scale, stats, stream);
    case 6: return Launch<F32ToF32Op>(input, output, count, scale, stats, stream);
    default: return cudaErrorInvalidValue;
  }
}

size_t SourceBytes(int direction) { return direction == 2 || direction == 3 ? 2 : direction == 4 ? 8 : 4; }
size_t TargetBytes(int direction) { return direction == 0 || direction == 1 ? 2 : direction == 5 ? 8 : 4; }

void CopyOut(const DeviceStats& in, joule_cuda_cast_stats_t* out) {
  out->sum_squared_error = in.sumSquaredError;
  out->sum_squared = in.sumSquared;
  out->non_finite = in.nonFinite;
  out->overflow = in.overflow;
  out->underflow = in.underflow;
}

// Statistics on the device, synchronised into *stats; the temporary lives for the one call.
int StatsOnDevice(int direction, const void* input, void* output, size_t count, float scale,
                  joule_cuda_cast_stats_t* stats, cudaStream_t stream) {
  DeviceStats* device_stats = nullptr;
  int rc = cudaMallocAsync(reinterpret_cast<void**>(&device_stats), sizeof(DeviceStats), stream);
  if (rc != cudaSuccess) return rc;
  DeviceStats host{};
  rc = cudaMemsetAsync(device_stats, 0, sizeof(DeviceStats), stream);
  if (rc == cudaSuccess) rc = Dispatch(direction, input, output, count, scale, device_stats, stream);
  if (rc == cudaSuccess) rc = cudaMemcpyAsync(&host, device_stats, sizeof host, cudaMemcpyDeviceToHost, stream);
  int free_rc = cudaFreeAsync(device_stats, stream);
  if (rc == cudaSuccess) rc = cudaStreamSynchronize(stream);
  if (rc == cudaSuccess) rc = free_rc;
  if (rc == cudaSuccess) CopyOut(host, stats);
  return rc;
}

// Benchmark input: finite values of every sign and a wide range of magnitudes, in the source format.
template <int kDirection>
__global__ void FillKernel(void* input, size_t count) {
  const size_t stride = static_cast<size_t>(gridDim.x) * blockDim.x;
  for (size_t i = static_cast<size_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < count; i += stride) {
    uint32_t h = static_cast<uint32_t>(i) * 2654435761u;
    float value = (static_cast<float>(h & 0xFFFF) / 65536.0f - 0.5f) * exp2f(static_cast<float>((h >> 16) % 31) - 20.0f);
    if (kDirection == 2) static_cast<uint16_t*>(input)[i] = F32ToBf16(value);
    else if (kDirection == 3) static_cast<uint16_t*>(input)[i] = F32ToF16(value);
    else if (kDirection == 4) static_cast<double*>(input)[i] = value;
    else static_cast<float*>(input)[i] = value;
  }
}

int Fill(int direction, void* input, size_t count) {
  int grid = GridFor(count);
  switch (direction) {
    case 2: FillKernel<2><<<grid, kThreads>>>(input, count); break;
    case 3: FillKernel<3><<<grid, kThreads>>>(input, count); break;
    case 4: FillKernel<4><<<grid, kThreads>>>(input, count); break;
    default: FillKernel<0><<<grid, kThreads>>>(input, count); break;
  }
  return cudaGetLastError();
}

// Times `iterations` back-to-back launches of `launch` with events; one untimed launch first.
template <typename Launch>
int TimeIt(int iterations, double* seconds, Launch launch) {
  cudaEvent_t start = nullptr, stop = nullptr;
  int rc = cudaEventCreate(&start);
  if (rc == cudaSuccess) rc = cudaEventCreate(&stop);
  if (rc == cudaSuccess) rc = launch();
  if (rc == cudaSuccess) rc = cudaEventRecord(start);
  for (int i = 0; rc == cudaSuccess && i < iterations; ++i) rc = launch();
  if (rc == cudaSuccess) rc = cudaEventRecord(stop);
  if (rc == cudaSuccess) rc = cudaEventSynchronize(stop);
  float ms = 0;
  if (rc == cudaSuccess) rc = cudaEventElapsedTime(&ms, start, stop);
  if (start != nullptr) cudaEventDestroy(start);
  if (stop != nullptr) cudaEventDestroy(stop);
  *seconds = ms / 1000.0;
  return rc;
}

}  // namespace

extern "C" {

int joule_cuda_cast_bench(int direction, size_t count, float scale, int iterations, double* cast_seconds,
                          double* copy_seconds) {
  if (direction < 0 || direction > 6 || iterations < 1 || count == 0) return cudaErrorInvalidValue;
  const size_t in_bytes = count * SourceBytes(direction);
  const size_t out_bytes = count * TargetBytes(direction);
  const size_t copy_bytes = (in_bytes + out_bytes) / 2;  // read + written = the cast's
  void *input = nullptr, *output = nullptr, *copy_source = nullptr, *copy_target = nullptr;
  int rc = cudaMalloc(&input, in_bytes);
  if (rc == cudaSuccess) rc = cudaMalloc(&output, out_bytes);
  if (rc == cudaSuccess) rc = cudaMalloc(&copy_source, copy_bytes);
  if (rc == cudaSuccess) rc = cudaMalloc(&copy_target, copy_bytes);
  if (rc == cudaSuccess) rc = Fill(direction, input, count);
  if (rc == cudaSuccess) rc = cudaMemset(copy_source, 1, copy_bytes);
  if (rc == cudaSuccess) {
    rc = TimeIt(iterations, cast_seconds, [&] { return Dispatch(direction, input, output, count, scale, nullptr, nullptr); });
  }
  if (rc == cudaSuccess) {
    rc = TimeIt(iterations, copy_seconds, [&] {
      return static_cast<int>(cudaMemcpyAsync(copy_target, copy_source, copy_bytes, cudaMemcpyDeviceToDevice, nullptr));
    });
  }
  for (void* buffer : {input, output, copy_source, copy_target}) {
    if (buffer != nullptr) cudaFree(buffer);
  }
  return rc;
}

int joule_cuda_cast(int direction, const void* input, void* output, size_t count, float scale, void* stream) {
  if (output == nullptr) return cudaErrorInvalidValue;
  return Dispatch(direction, input, output, count, scale, nullptr, static_cast<cudaStream_t>(stream));
}

int joule_cuda_cast_stats(int direction, const void* input, void* output, size_t count, float scale,
                          joule_cuda_cast_stats_t* stats, void* stream) {
  if (stats == nullptr) return cudaErrorInvalidValue;
  return StatsOnDevice(direction, input, output, count, scale, stats, static_cast<cudaStream_t>(stream));
}

int joule_cuda_cast_host(int direction, const void* input, void* output, size_t count, float scale,
                         joule_cuda_cast_stats_t* stats) {
  if (direction < 0 || direction > 6 || (output == nullptr && stats == nullptr)) return cudaErrorInvalidValue;
  const size_t in_bytes = count * SourceBytes(direction);
  const size_t out_bytes = count * TargetBytes(direction);
  cudaStream_t stream = nullptr;
  int rc = cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking);
  if (rc != cudaSuccess) return rc;
  void* device_in = nullptr;
  void* device_out = nullptr;
  rc = cudaMallocAsync(&device_in, in_bytes > 0 ? in_bytes : 1, stream);
  if (rc == cudaSuccess && output != nullptr) rc = cudaMallocAsync(&device_out, out_bytes > 0 ? out_bytes : 1, stream);
  if (rc == cudaSuccess) rc = cudaMemcpyAsync(device_in, input, in_bytes, cudaMemcpyHostToDevice, stream);
  if (rc == cudaSuccess) {
    rc = stats != nullptr ? StatsOnDevice(direction, device_in, device_out, count, scale, stats, stream)
                          : Dispatch(direction, device_in, device_out, count, scale, nullptr, stream);
  }
  if (rc == cudaSuccess && output != nullptr) rc = cudaMemcpyAsync(output, device_out, out_bytes, cudaMemcpyDeviceToHost, stream);
  if (device_in != nullptr) cudaFreeAsync(device_in, stream);
  if (device_out != nullptr) cudaFreeAsync(device_out, stream);
  int sync_rc = cudaStreamSynchronize(stream);
  cudaStreamDestroy(stream);
  return rc != cudaSuccess ? rc : sync_rc;
}

}
