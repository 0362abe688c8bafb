// The portable path: one element at a time through cast/scalar.h (the definition every path matches).
#include <cstdint>
#include <cstring>

#include "cast/kernels.h"
#include "cast/scalar.h"

namespace joule::cast::detail {
namespace {

void F32ToBf16Loop(const void* input, void* output, size_t count, float scale) {
  auto* in = static_cast<const float*>(input);
  auto* out = static_cast<uint16_t*>(output);
  if (scale == 1.0f) {
    for (size_t i = 0; i < count; ++i) out[i] = F32ToBf16(in[i]);
  } else {
    for (size_t i = 0; i < count; ++i) out[i] = F32ToBf16(Scale(in[i], scale));
  }
}

void F32ToF16Loop(const void* input, void* output, size_t count, float scale) {
  auto* in = static_cast<const float*>(input);
  auto* out = static_cast<uint16_t*>(output);
  if (scale == 1.0f) {
    for (size_t i = 0; i < count; ++i) out[i] = F32ToF16(in[i]);
  } else {
    for (size_t i = 0; i < count; ++i) out[i] = F32ToF16(Scale(in[i], scale));
  }
}

void Bf16ToF32Loop(const void* input, void* output, size_t count, float scale) {
  auto* in = static_cast<const uint16_t*>(input);
  auto* out = static_cast<float*>(output);
  if (scale == 1.0f) {
    for (size_t i = 0; i < count; ++i) out[i] = Bf16ToF32(in[i]);
  } else {
    for (size_t i = 0; i < count; ++i) out[i] = Scale(Bf16ToF32(in[i]), scale);
  }
}

void F16ToF32Loop(const void* input, void* output, size_t count, float scale) {
  auto* in = static_cast<const uint16_t*>(input);
  auto* out = static_cast<float*>(output);
  if (scale == 1.0f) {
    for (size_t i = 0; i < count; ++i) out[i] = F16ToF32(in[i]);
  } else {
    for (size_t i = 0; i < count; ++i) out[i] = Scale(F16ToF32(in[i]), scale);
  }
}

void F64ToF32Loop(const void* input, void* output, size_t count, float scale) {
  auto* in = static_cast<const double*>(input);
  auto* out = static_cast<float*>(output);
  const double factor = scale;
  if (scale == 1.0f) {
    for (size_t i = 0; i < count; ++i) out[i] = F64ToF32(in[i]);
  } else {
    for (size_t i = 0; i < count; ++i) out[i] = F64ToF32(Scale(in[i], factor));
  }
}

void F32ToF64Loop(const void* input, void* output, size_t count, float scale) {
  auto* in = static_cast<const float*>(input);
  auto* out = static_cast<double*>(output);
  const double factor = scale;
  if (scale == 1.0f) {
    for (size_t i = 0; i < count; ++i) out[i] = F32ToF64(in[i]);
  } else {
    for (size_t i = 0; i < count; ++i) out[i] = Scale(F32ToF64(in[i]), factor);
  }
}

void F32ToF32Loop(const void* input, void* output, size_t count, float scale) {
  auto* in = static_cast<const float*>(input);
  auto* out = static_cast<float*>(output);
  if (scale == 1.0f) {
    if (in != out) std::memmove(out, in, count * sizeof(float));
  } else {
    for (size_t i = 0; i < count; ++i) out[i] = Scale(in[i], scale);
  }
}

bool Always() { return true; }

}  // namespace

const PathKernels& ScalarPath() {
  static const PathKernels path{
      "scalar",
      Always,
      {F32ToBf16Loop, F32ToF16Loop, Bf16ToF32Loop, F16ToF32Loop, F64ToF32Loop, F32ToF64Loop, F32ToF32Loop}};
  return path;
}

}  // namespace joule::cast::detail
