// The one scalar definition of every precision conversion, compiled for the host and (under nvcc) for
// the device. IEEE round-to-nearest-even; NaN stays NaN (quieted, sign kept); overflow rounds to ±Inf;
// target subnormals are produced, never flushed; -0 is kept. Every vector path must match these bits.
#pragma once

#include <cstdint>
#include <cstring>

#if defined(__CUDACC__)
#define JOULE_HD __host__ __device__ __forceinline__
#else
#define JOULE_HD inline
#endif

namespace joule::cast {

JOULE_HD uint32_t FloatBits(float value) {
#if defined(__CUDA_ARCH__)
  return __float_as_uint(value);
#else
  uint32_t bits;
  std::memcpy(&bits, &value, sizeof bits);
  return bits;
#endif
}

JOULE_HD float BitsFloat(uint32_t bits) {
#if defined(__CUDA_ARCH__)
  return __uint_as_float(bits);
#else
  float value;
  std::memcpy(&value, &bits, sizeof value);
  return value;
#endif
}

// float32 -> bfloat16: keep the top 16 bits, rounded to nearest even on the 16 dropped ones.
JOULE_HD uint16_t F32ToBf16(float value) {
  uint32_t bits = FloatBits(value);
  if ((bits & 0x7FFFFFFFu) > 0x7F800000u) return static_cast<uint16_t>((bits >> 16) | 0x0040u);
  uint32_t lsb = (bits >> 16) & 1u;
  return static_cast<uint16_t>((bits + 0x7FFFu + lsb) >> 16);
}

// bfloat16 -> float32 is exact: the bits are the top half of a float32.
JOULE_HD float Bf16ToF32(uint16_t half) { return BitsFloat(static_cast<uint32_t>(half) << 16); }

// float32 -> float16 (binary16).
JOULE_HD uint16_t F32ToF16(float value) {
  uint32_t bits = FloatBits(value);
  uint32_t sign = (bits >> 16) & 0x8000u;
  uint32_t magnitude = bits & 0x7FFFFFFFu;
  if (magnitude > 0x7F800000u) {  // NaN: quiet it, keep the payload's top bits
    return static_cast<uint16_t>(sign | 0x7E00u | ((magnitude >> 13) & 0x3FFu));
  }
  // 65520 is halfway between 65504 (the largest half, odd mantissa) and 65536: ties go to Inf.
  if (magnitude >= 0x477FF000u) return static_cast<uint16_t>(sign | 0x7C00u);
  if (magnitude >= 0x38800000u) {  // normal half: rebias the exponent (127 -> 15) and round
    uint32_t lsb = (magnitude >> 13) & 1u;
    magnitude += 0xC8000000u + 0x0FFFu + lsb;
    return static_cast<uint16_t>(sign | (magnitude >> 13));
  }
  // 2^-25 is halfway to the smallest subnormal 2^-24 and ties to even (zero).
  if (magnitude <= 0x33000000u) return static_cast<uint16_t>(sign);
  // Subnormal half: value = mantissa * 2^(exponent - 150); in units of 2^-24 that is mantissa >> shift.
  uint32_t exponent = magnitude >> 23;
  uint32_t mantissa = (magnitude & 0x7FFFFFu) | 0x800000u;
  uint32_t shift = 126u - exponent;
  uint32_t result = mantissa >> shift;
  uint32_t remainder = mantissa & ((1u << shift) - 1u);
  uint32_t halfway = 1u << (shift - 1u);
  if (remainder > halfway || (remainder == halfway && (result & 1u))) ++result;
  return static_cast<uint16_t>(sign | result);
}

// float16 -> float32 is exact; a NaN comes back quiet (as F16C's vcvtph2ps does).
JOULE_HD float F16ToF32(uint16_t half) {
  uint32_t sign = static_cast<uint32_t>(half & 0x8000u) << 16;
  uint32_t exponent = (half >> 10) & 0x1Fu;
  uint32_t mantissa = half & 0x3FFu;
  if (exponent == 0x1Fu) {
    return BitsFloat(sign | 0x7F800000u | (mantissa << 13) | (mantissa != 0 ? 0x00400000u : 0u));
  }
  if (exponent != 0) return BitsFloat(sign | ((exponent + 112u) << 23) | (mantissa << 13));
  if (mantissa == 0) return BitsFloat(sign);
  uint32_t biased = 113u;  // normalise the subnormal: shift until the hidden bit appears
  while ((mantissa & 0x400u) == 0) {
    mantissa <<= 1;
    --biased;
  }
  return BitsFloat(sign | (biased << 23) | ((mantissa & 0x3FFu) << 13));
}

JOULE_HD uint64_t DoubleBits(double value) {
#if defined(__CUDA_ARCH__)
  return static_cast<uint64_t>(__double_as_longlong(value));
#else
  uint64_t bits;
  std::memcpy(&bits, &value, sizeof bits);
  return bits;
#endif
}

JOULE_HD double BitsDouble(uint64_t bits) {
#if defined(__CUDA_ARCH__)
  return __longlong_as_double(static_cast<long long>(bits));
#else
  double value;
  std::memcpy(&value, &bits, sizeof value);
  return value;
#endif
}

// float64 <-> float32 round to nearest even (the default rounding mode on the host and the device).
// NaNs are spelled out because the two differ there: x86 keeps the sign and the payload's top bits
// and quiets, while CUDA's cvt returns one canonical NaN. The definition is x86's, on both.
JOULE_HD float F64ToF32(double value) {
  uint64_t bits = DoubleBits(value);
  if ((bits & 0x7FFFFFFFFFFFFFFFull) > 0x7FF0000000000000ull) {
    uint32_t sign = static_cast<uint32_t>(bits >> 32) & 0x80000000u;
    uint32_t payload = static_cast<uint32_t>(bits >> 29) & 0x003FFFFFu;
    return BitsFloat(sign | 0x7FC00000u | payload);
  }
  return static_cast<float>(value);
}

JOULE_HD double F32ToF64(float value) {
  uint32_t bits = FloatBits(value);
  if ((bits & 0x7FFFFFFFu) > 0x7F800000u) {
    uint64_t sign = static_cast<uint64_t>(bits & 0x80000000u) << 32;
    uint64_t payload = static_cast<uint64_t>(bits & 0x003FFFFFu) << 29;
    return BitsDouble(sign | 0x7FF8000000000000ull | payload);
  }
  return static_cast<double>(value);
}

// The scale multiply of the fused casts. A NaN passes through quieted with its payload, as x86's mulps
// leaves it; spelled out because CUDA's multiply returns one canonical NaN instead.
JOULE_HD float Scale(float value, float scale) {
  uint32_t bits = FloatBits(value);
  if ((bits & 0x7FFFFFFFu) > 0x7F800000u) return BitsFloat(bits | 0x00400000u);
  return value * scale;
}

JOULE_HD double Scale(double value, double scale) {
  uint64_t bits = DoubleBits(value);
  if ((bits & 0x7FFFFFFFFFFFFFFFull) > 0x7FF0000000000000ull) return BitsDouble(bits | 0x0008000000000000ull);
  return value * scale;
}

}  // namespace joule::cast
