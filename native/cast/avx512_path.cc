// The AVX-512 paths: 16 floats per instruction. "avx512" rounds to bf16 with integer arithmetic;
// "avx512bf16" uses VCVTNEPS2BF16, which treats f32 denormals as zero, so lanes holding one are redone
// with the integer rounding (NaNs it already quiets the way scalar.h does). Function-level target
// attributes keep the rest of the addon baseline x86-64; Convert calls these only after CPUID says yes.
#if defined(__x86_64__)
#include <immintrin.h>

#include <cstdint>

#include "cast/kernels.h"
#include "cpu/features.h"

// GCC 12's _mm512_cvtps_pd and _mm512_reduce_add_pd start from _mm512_undefined_pd(), which its
// uninitialised-use warnings misread.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"

#define JOULE_AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,avx2,f16c,fma")))
#define JOULE_AVX512BF16 __attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16,avx2,f16c,fma")))

namespace joule::cast::detail {
namespace {

constexpr int Index(Direction direction) { return static_cast<int>(direction); }

// Sixteen f32 bit patterns -> sixteen bf16 patterns, rounded to nearest even with integers.
JOULE_AVX512 inline __m256i RoundToBf16(__m512i bits) {
  const __m512i magnitude = _mm512_and_si512(bits, _mm512_set1_epi32(0x7FFFFFFF));
  const __mmask16 is_nan = _mm512_cmpgt_epu32_mask(magnitude, _mm512_set1_epi32(0x7F800000));
  const __m512i high = _mm512_srli_epi32(bits, 16);
  const __m512i lsb = _mm512_and_si512(high, _mm512_set1_epi32(1));
  const __m512i rounded =
      _mm512_srli_epi32(_mm512_add_epi32(_mm512_add_epi32(bits, _mm512_set1_epi32(0x7FFF)), lsb), 16);
  const __m512i quiet = _mm512_or_si512(high, _mm512_set1_epi32(0x0040));
  return _mm512_cvtepi32_epi16(_mm512_mask_blend_epi32(is_nan, rounded, quiet));
}

JOULE_AVX512BF16 inline __m256i HardwareBf16(__m512 value) {
  __m256bh converted = _mm512_cvtneps_pbh(value);
  __m256i result;
  __builtin_memcpy(&result, &converted, sizeof result);
  const __m512i magnitude = _mm512_and_si512(_mm512_castps_si512(value), _mm512_set1_epi32(0x7FFFFFFF));
  const __mmask16 denormal = _mm512_cmplt_epu32_mask(magnitude, _mm512_set1_epi32(0x00800000)) &
                             _mm512_test_epi32_mask(magnitude, magnitude);
  if (denormal != 0) {
    result = _mm256_mask_blend_epi16(denormal, result, RoundToBf16(_mm512_castps_si512(value)));
  }
  return result;
}

// Its own loop rather than Convert below: Convert is compiled for AVX-512F, and a store compiled for
// AVX512_BF16 would not be inlined into it.
JOULE_AVX512BF16 void F32ToBf16Hardware(const void* input, void* output, size_t count, float scale) {
  auto* in = static_cast<const float*>(input);
  auto* out = static_cast<uint16_t*>(output);
  const __m512 factor = _mm512_set1_ps(scale);
  const bool scaled = scale != 1.0f;
  size_t i = 0;
  for (; i + 32 <= count; i += 32) {
    __m512 a = _mm512_loadu_ps(in + i);
    __m512 b = _mm512_loadu_ps(in + i + 16);
    if (scaled) {
      a = _mm512_mul_ps(a, factor);
      b = _mm512_mul_ps(b, factor);
    }
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + i), HardwareBf16(a));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + i + 16), HardwareBf16(b));
  }
  ScalarPath().kernels[Index(Direction::kF32ToBf16)](in + i, out + i, count - i, scale);
}

// Loads and stores of one vector per format (structs, not lambdas: a lambda's function pointer
// conversion would be compiled without AVX-512 and change the ABI). 512-bit vectors: 16 f32 or 8 f64.
struct LoadF32x16 {
  JOULE_AVX512 __m512 operator()(const void* in, size_t i) const { return _mm512_loadu_ps(static_cast<const float*>(in) + i); }
};
struct LoadBf16x16 {
  JOULE_AVX512 __m512 operator()(const void* in, size_t i) const {
    __m256i bits = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(static_cast<const uint16_t*>(in) + i));
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(bits), 16));
  }
};
struct LoadF16x16 {
  JOULE_AVX512 __m512 operator()(const void* in, size_t i) const {
    return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(static_cast<const uint16_t*>(in) + i)));
  }
};
struct LoadF64x8 {
  JOULE_AVX512 __m512d operator()(const void* in, size_t i) const { return _mm512_loadu_pd(static_cast<const double*>(in) + i); }
};
struct LoadF32x8AsF64 {
  JOULE_AVX512 __m512d operator()(const void* in, size_t i) const { return _mm512_cvtps_pd(_mm256_loadu_ps(static_cast<const float*>(in) + i)); }
};

// Stores take the step's two vectors.
struct StoreF32x16 {
  JOULE_AVX512 void operator()(void* out, size_t i, __m512 a, __m512 b) const {
    _mm512_storeu_ps(static_cast<float*>(out) + i, a);
    _mm512_storeu_ps(static_cast<float*>(out) + i + 16, b);
  }
};
struct StoreBf16x16 {
  JOULE_AVX512 void operator()(void* out, size_t i, __m512 a, __m512 b) const {
    auto* target = reinterpret_cast<__m256i*>(static_cast<uint16_t*>(out) + i);
    _mm256_storeu_si256(target, RoundToBf16(_mm512_castps_si512(a)));
    _mm256_storeu_si256(target + 1, RoundToBf16(_mm512_castps_si512(b)));
  }
};
struct StoreF16x16 {
  JOULE_AVX512 void operator()(void* out, size_t i, __m512 a, __m512 b) const {
    auto* target = reinterpret_cast<__m256i*>(static_cast<uint16_t*>(out) + i);
    _mm256_storeu_si256(target, _mm512_cvtps_ph(a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
    _mm256_storeu_si256(target + 1, _mm512_cvtps_ph(b, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
  }
};
struct StoreF64x8 {
  JOULE_AVX512 void operator()(void* out, size_t i, __m512d a, __m512d b) const {
    _mm512_storeu_pd(static_cast<double*>(out) + i, a);
    _mm512_storeu_pd(static_cast<double*>(out) + i + 8, b);
  }
};
struct StoreF64x8AsF32 {
  JOULE_AVX512 void operator()(void* out, size_t i, __m512d a, __m512d b) const {
    _mm256_storeu_ps(static_cast<float*>(out) + i, _mm512_cvtpd_ps(a));
    _mm256_storeu_ps(static_cast<float*>(out) + i + 8, _mm512_cvtpd_ps(b));
  }
};

JOULE_AVX512 inline __m512 Scale(__m512 v, float scale) { return _mm512_mul_ps(v, _mm512_set1_ps(scale)); }
JOULE_AVX512 inline __m512d Scale(__m512d v, float scale) { return _mm512_mul_pd(v, _mm512_set1_pd(scale)); }

// The loop every direction shares (as in avx2_path.cc): two vectors of kLanes per step, loaded by
// `load`, scaled unless the scale is 1, stored by `store`; the scalar path does the tail.
template <typename Source, typename Target, size_t kLanes, typename Load, typename Store>
JOULE_AVX512 void Convert(const void* input, void* output, size_t count, float scale, Direction direction, Load load, Store store) {
  const bool scaled = scale != 1.0f;
  size_t i = 0;
  for (; i + 2 * kLanes <= count; i += 2 * kLanes) {
    auto a = load(input, i);
    auto b = load(input, i + kLanes);
    if (scaled) {
      a = Scale(a, scale);
      b = Scale(b, scale);
    }
    store(output, i, a, b);
  }
  ScalarPath().kernels[Index(direction)](static_cast<const Source*>(input) + i, static_cast<Target*>(output) + i, count - i, scale);
}

JOULE_AVX512 void F32ToBf16(const void* in, void* out, size_t count, float scale) {
  Convert<float, uint16_t, 16>(in, out, count, scale, Direction::kF32ToBf16, LoadF32x16{}, StoreBf16x16{});
}
JOULE_AVX512 void F32ToF16(const void* in, void* out, size_t count, float scale) {
  Convert<float, uint16_t, 16>(in, out, count, scale, Direction::kF32ToF16, LoadF32x16{}, StoreF16x16{});
}
JOULE_AVX512 void Bf16ToF32(const void* in, void* out, size_t count, float scale) {
  Convert<uint16_t, float, 16>(in, out, count, scale, Direction::kBf16ToF32, LoadBf16x16{}, StoreF32x16{});
}
JOULE_AVX512 void F16ToF32(const void* in, void* out, size_t count, float scale) {
  Convert<uint16_t, float, 16>(in, out, count, scale, Direction::kF16ToF32, LoadF16x16{}, StoreF32x16{});
}
JOULE_AVX512 void F64ToF32(const void* in, void* out, size_t count, float scale) {
  Convert<double, float, 8>(in, out, count, scale, Direction::kF64ToF32, LoadF64x8{}, StoreF64x8AsF32{});
}
JOULE_AVX512 void F32ToF64(const void* in, void* out, size_t count, float scale) {
  Convert<float, double, 8>(in, out, count, scale, Direction::kF32ToF64, LoadF32x8AsF64{}, StoreF64x8{});
}
JOULE_AVX512 void F32ToF32(const void* in, void* out, size_t count, float scale) {
  // Unscaled, a copy: the scalar path's memcpy.
  if (scale == 1.0f) return ScalarPath().kernels[Index(Direction::kF32ToF32)](in, out, count, scale);
  Convert<float, float, 16>(in, out, count, scale, Direction::kF32ToF32, LoadF32x16{}, StoreF32x16{});
}

// Statistics where source and target both load as eight f32 values (f32, bf16, f16), eight elements
// per step in double precision: masks pick the finite
// inputs and the results that stayed finite, exactly as the portable loop's branches do.
template <typename LoadSource, typename LoadTarget>
JOULE_AVX512 size_t VectorStats(const void* input, const void* output, size_t count, double scale, Stats* stats,
                                   LoadSource load_source, LoadTarget load_target) {
  const __m256i exponent = _mm256_set1_epi32(0x7F800000);
  const __m256i magnitude = _mm256_set1_epi32(0x7FFFFFFF);
  const __m512d factor = _mm512_set1_pd(scale);
  const __m512d zero = _mm512_setzero_pd();
  __m512d squared_error = zero;
  __m512d squared = zero;
  uint64_t non_finite = 0, overflow = 0, underflow = 0;
  size_t i = 0;
  for (; i + 8 <= count; i += 8) {
    const __m256 xs = load_source(input, i);
    const __m256 cs = load_target(output, i);
    const __mmask8 finite = _mm256_cmpneq_epi32_mask(_mm256_and_si256(_mm256_castps_si256(xs), exponent), exponent);
    const __mmask8 infinite = _mm256_cmpeq_epi32_mask(_mm256_and_si256(_mm256_castps_si256(cs), magnitude), exponent);
    const __mmask8 counted = finite & static_cast<__mmask8>(~infinite);
    const __m512d r = _mm512_mul_pd(_mm512_cvtps_pd(xs), factor);
    const __m512d c = _mm512_cvtps_pd(cs);
    const __m512d e = _mm512_sub_pd(r, c);
    squared_error = _mm512_mask_add_pd(squared_error, counted, squared_error, _mm512_mul_pd(e, e));
    squared = _mm512_mask_add_pd(squared, counted, squared, _mm512_mul_pd(r, r));
    const __mmask8 zero_result = _mm512_cmp_pd_mask(c, zero, _CMP_EQ_OQ);
    const __mmask8 nonzero_value = _mm512_cmp_pd_mask(r, zero, _CMP_NEQ_OQ);
    non_finite += __builtin_popcount(static_cast<unsigned>(static_cast<__mmask8>(~finite)));
    overflow += __builtin_popcount(static_cast<unsigned>(finite & infinite));
    underflow += __builtin_popcount(static_cast<unsigned>(counted & zero_result & nonzero_value));
  }
  stats->sumSquaredError += _mm512_reduce_add_pd(squared_error);
  stats->sumSquared += _mm512_reduce_add_pd(squared);
  stats->nonFinite += non_finite;
  stats->overflow += overflow;
  stats->underflow += underflow;
  return i;
}

// How each format comes back as eight f32 values (structs, not lambdas: a lambda's function
// pointer conversion would be compiled without AVX and change the ABI).
struct LoadBf16 {
  JOULE_AVX512 __m256 operator()(const void* out, size_t i) const {
    __m128i bits = _mm_loadu_si128(reinterpret_cast<const __m128i*>(static_cast<const uint16_t*>(out) + i));
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(bits), 16));
  }
};
struct LoadF16 {
  JOULE_AVX512 __m256 operator()(const void* out, size_t i) const {
    return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(static_cast<const uint16_t*>(out) + i)));
  }
};
struct LoadF32 {
  JOULE_AVX512 __m256 operator()(const void* out, size_t i) const { return _mm256_loadu_ps(static_cast<const float*>(out) + i); }
};

JOULE_AVX512 size_t Bf16Stats(const void* input, const void* output, size_t count, double scale, Stats* stats) {
  return VectorStats(input, output, count, scale, stats, LoadF32{}, LoadBf16{});
}
JOULE_AVX512 size_t F16Stats(const void* input, const void* output, size_t count, double scale, Stats* stats) {
  return VectorStats(input, output, count, scale, stats, LoadF32{}, LoadF16{});
}
JOULE_AVX512 size_t Bf16WideStats(const void* input, const void* output, size_t count, double scale, Stats* stats) {
  return VectorStats(input, output, count, scale, stats, LoadBf16{}, LoadF32{});
}
JOULE_AVX512 size_t F16WideStats(const void* input, const void* output, size_t count, double scale, Stats* stats) {
  return VectorStats(input, output, count, scale, stats, LoadF16{}, LoadF32{});
}
JOULE_AVX512 size_t F32Stats(const void* input, const void* output, size_t count, double scale, Stats* stats) {
  return VectorStats(input, output, count, scale, stats, LoadF32{}, LoadF32{});
}

bool Supported() {
  const auto& f = cpu::Detect();
  return f.avx512f && f.avx512bw && f.avx512vl && f.avx2 && f.f16c && f.fma;
}

bool SupportedBf16() { return Supported() && cpu::Detect().avx512bf16; }

}  // namespace

const PathKernels& Avx512Path() {
  static const PathKernels path{"avx512",
                                Supported,
                                {F32ToBf16, F32ToF16, Bf16ToF32, F16ToF32, F64ToF32, F32ToF64, F32ToF32},
                                {Bf16Stats, F16Stats, Bf16WideStats, F16WideStats, nullptr, nullptr, F32Stats}};
  return path;
}

const PathKernels& Avx512Bf16Path() {
  static const PathKernels path{"avx512bf16",
                                SupportedBf16,
                                {F32ToBf16Hardware, F32ToF16, Bf16ToF32, F16ToF32, F64ToF32, F32ToF64, F32ToF32},
                                {Bf16Stats, F16Stats, Bf16WideStats, F16WideStats, nullptr, nullptr, F32Stats}};
  return path;
}

}  // namespace joule::cast::detail
#endif
