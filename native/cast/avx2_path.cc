// The AVX2 + F16C path: 8 floats per instruction, integer round-to-nearest-even for bf16 (bit-exact
// with cast/scalar.h by construction), vcvtps2ph/vcvtph2ps for f16. Compiled with function-level target
// attributes so the addon still loads on CPUs without AVX2; Convert only calls it after CPUID says yes.
#if defined(__x86_64__)
#include <immintrin.h>

#include <cstdint>

#include "cast/kernels.h"
#include "cpu/features.h"

#define JOULE_AVX2 __attribute__((target("avx2,f16c,fma")))

namespace joule::cast::detail {
namespace {

// Eight f32 bit patterns -> eight bf16 patterns in the low halves of 32-bit lanes.
JOULE_AVX2 inline __m256i RoundToBf16(__m256i bits) {
  const __m256i magnitude = _mm256_and_si256(bits, _mm256_set1_epi32(0x7FFFFFFF));
  // Both sides are non-negative as int32, so a signed compare is an unsigned one here.
  const __m256i is_nan = _mm256_cmpgt_epi32(magnitude, _mm256_set1_epi32(0x7F800000));
  const __m256i lsb = _mm256_and_si256(_mm256_srli_epi32(bits, 16), _mm256_set1_epi32(1));
  const __m256i rounded =
      _mm256_srli_epi32(_mm256_add_epi32(_mm256_add_epi32(bits, _mm256_set1_epi32(0x7FFF)), lsb), 16);
  const __m256i quiet = _mm256_or_si256(_mm256_srli_epi32(bits, 16), _mm256_set1_epi32(0x0040));
  return _mm256_blendv_epi8(rounded, quiet, is_nan);
}

// Loads and stores of one vector per format (structs, not lambdas: a lambda's function pointer
// conversion would be compiled without AVX and change the ABI). 256-bit vectors: eight f32 or four f64.
struct LoadF32x8 {
  JOULE_AVX2 __m256 operator()(const void* in, size_t i) const { return _mm256_loadu_ps(static_cast<const float*>(in) + i); }
};
struct LoadBf16x8 {
  JOULE_AVX2 __m256 operator()(const void* in, size_t i) const {
    __m128i bits = _mm_loadu_si128(reinterpret_cast<const __m128i*>(static_cast<const uint16_t*>(in) + i));
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(bits), 16));
  }
};
struct LoadF16x8 {
  JOULE_AVX2 __m256 operator()(const void* in, size_t i) const {
    return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(static_cast<const uint16_t*>(in) + i)));
  }
};
struct LoadF64x4 {
  JOULE_AVX2 __m256d operator()(const void* in, size_t i) const { return _mm256_loadu_pd(static_cast<const double*>(in) + i); }
};
struct LoadF32x4AsF64 {
  JOULE_AVX2 __m256d operator()(const void* in, size_t i) const { return _mm256_cvtps_pd(_mm_loadu_ps(static_cast<const float*>(in) + i)); }
};

// Stores take the step's two vectors, so narrowing stores can pack them into one.
struct StoreF32x8 {
  JOULE_AVX2 void operator()(void* out, size_t i, __m256 a, __m256 b) const {
    _mm256_storeu_ps(static_cast<float*>(out) + i, a);
    _mm256_storeu_ps(static_cast<float*>(out) + i + 8, b);
  }
};
struct StoreBf16x8 {
  JOULE_AVX2 void operator()(void* out, size_t i, __m256 a, __m256 b) const {
    // packus works per 128-bit lane; the permute puts the four quarters back in order.
    __m256i packed = _mm256_packus_epi32(RoundToBf16(_mm256_castps_si256(a)), RoundToBf16(_mm256_castps_si256(b)));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(static_cast<uint16_t*>(out) + i), _mm256_permute4x64_epi64(packed, 0xD8));
  }
};
struct StoreF16x8 {
  JOULE_AVX2 void operator()(void* out, size_t i, __m256 a, __m256 b) const {
    auto* target = static_cast<uint16_t*>(out) + i;
    _mm_storeu_si128(reinterpret_cast<__m128i*>(target), _mm256_cvtps_ph(a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(target + 8), _mm256_cvtps_ph(b, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
  }
};
struct StoreF64x4 {
  JOULE_AVX2 void operator()(void* out, size_t i, __m256d a, __m256d b) const {
    _mm256_storeu_pd(static_cast<double*>(out) + i, a);
    _mm256_storeu_pd(static_cast<double*>(out) + i + 4, b);
  }
};
// cvtpd2ps rounds by MXCSR (nearest even unless someone changed it, as for the scalar cast) and treats
// NaNs the x86 way, which is scalar.h's definition.
struct StoreF64x4AsF32 {
  JOULE_AVX2 void operator()(void* out, size_t i, __m256d a, __m256d b) const {
    _mm256_storeu_ps(static_cast<float*>(out) + i, _mm256_set_m128(_mm256_cvtpd_ps(b), _mm256_cvtpd_ps(a)));
  }
};

JOULE_AVX2 inline __m256 Scale(__m256 v, float scale) { return _mm256_mul_ps(v, _mm256_set1_ps(scale)); }
JOULE_AVX2 inline __m256d Scale(__m256d v, float scale) { return _mm256_mul_pd(v, _mm256_set1_pd(scale)); }

// The loop every direction shares: two vectors of kLanes per step, loaded (widened) by `load`, scaled
// unless the scale is 1, narrowed and stored by `store`; the scalar path, whose bits these must give
// (test/precision checks every path), does the tail.
template <typename Source, typename Target, size_t kLanes, typename Load, typename Store>
JOULE_AVX2 void Convert(const void* input, void* output, size_t count, float scale, Direction direction, Load load, Store store) {
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
  ScalarPath().kernels[static_cast<int>(direction)](static_cast<const Source*>(input) + i, static_cast<Target*>(output) + i, count - i, scale);
}

JOULE_AVX2 void F32ToBf16(const void* in, void* out, size_t count, float scale) {
  Convert<float, uint16_t, 8>(in, out, count, scale, Direction::kF32ToBf16, LoadF32x8{}, StoreBf16x8{});
}
JOULE_AVX2 void F32ToF16(const void* in, void* out, size_t count, float scale) {
  Convert<float, uint16_t, 8>(in, out, count, scale, Direction::kF32ToF16, LoadF32x8{}, StoreF16x8{});
}
JOULE_AVX2 void Bf16ToF32(const void* in, void* out, size_t count, float scale) {
  Convert<uint16_t, float, 8>(in, out, count, scale, Direction::kBf16ToF32, LoadBf16x8{}, StoreF32x8{});
}
JOULE_AVX2 void F16ToF32(const void* in, void* out, size_t count, float scale) {
  Convert<uint16_t, float, 8>(in, out, count, scale, Direction::kF16ToF32, LoadF16x8{}, StoreF32x8{});
}
JOULE_AVX2 void F64ToF32(const void* in, void* out, size_t count, float scale) {
  Convert<double, float, 4>(in, out, count, scale, Direction::kF64ToF32, LoadF64x4{}, StoreF64x4AsF32{});
}
JOULE_AVX2 void F32ToF64(const void* in, void* out, size_t count, float scale) {
  Convert<float, double, 4>(in, out, count, scale, Direction::kF32ToF64, LoadF32x4AsF64{}, StoreF64x4{});
}
JOULE_AVX2 void F32ToF32(const void* in, void* out, size_t count, float scale) {
  // Unscaled, a copy: the scalar path's memcpy.
  if (scale == 1.0f) return ScalarPath().kernels[static_cast<int>(Direction::kF32ToF32)](in, out, count, scale);
  Convert<float, float, 8>(in, out, count, scale, Direction::kF32ToF32, LoadF32x8{}, StoreF32x8{});
}

// Statistics where source and target both load as eight f32 values (f32, bf16, f16), eight elements
// per step in double precision (two halves of four):
// lane masks pick the finite inputs and the results that stayed finite, as the portable loop's
// branches do; masked-out lanes add +0, so a NaN never reaches the sums.
template <typename LoadSource, typename LoadTarget>
JOULE_AVX2 size_t VectorStats(const void* input, const void* output, size_t count, double scale, Stats* stats, LoadSource load_source, LoadTarget load_target) {
  const __m256i exponent = _mm256_set1_epi32(0x7F800000);
  const __m256i magnitude = _mm256_set1_epi32(0x7FFFFFFF);
  const __m256d factor = _mm256_set1_pd(scale);
  const __m256d zero = _mm256_setzero_pd();
  __m256d squared_error = zero;
  __m256d squared = zero;
  uint64_t non_finite = 0, overflow = 0, underflow = 0;
  size_t i = 0;
  for (; i + 8 <= count; i += 8) {
    const __m256 xs = load_source(input, i);
    const __m256 cs = load_target(output, i);
    const __m256i not_finite = _mm256_cmpeq_epi32(_mm256_and_si256(_mm256_castps_si256(xs), exponent), exponent);
    const __m256i infinite = _mm256_cmpeq_epi32(_mm256_and_si256(_mm256_castps_si256(cs), magnitude), exponent);
    const __m256i counted = _mm256_andnot_si256(_mm256_or_si256(not_finite, infinite), _mm256_set1_epi32(-1));
    const unsigned not_finite_bits = static_cast<unsigned>(_mm256_movemask_ps(_mm256_castsi256_ps(not_finite)));
    const unsigned infinite_bits = static_cast<unsigned>(_mm256_movemask_ps(_mm256_castsi256_ps(infinite)));
    non_finite += __builtin_popcount(not_finite_bits);
    overflow += __builtin_popcount(~not_finite_bits & infinite_bits & 0xFFu);
    for (int half = 0; half < 2; ++half) {
      const __m128 x4 = half ? _mm256_extractf128_ps(xs, 1) : _mm256_castps256_ps128(xs);
      const __m128 c4 = half ? _mm256_extractf128_ps(cs, 1) : _mm256_castps256_ps128(cs);
      const __m128i counted4 = half ? _mm256_extracti128_si256(counted, 1) : _mm256_castsi256_si128(counted);
      const __m256d mask = _mm256_castsi256_pd(_mm256_cvtepi32_epi64(counted4));
      const __m256d r = _mm256_mul_pd(_mm256_cvtps_pd(x4), factor);
      const __m256d c = _mm256_cvtps_pd(c4);
      const __m256d e = _mm256_sub_pd(r, c);
      squared_error = _mm256_add_pd(squared_error, _mm256_and_pd(mask, _mm256_mul_pd(e, e)));
      squared = _mm256_add_pd(squared, _mm256_and_pd(mask, _mm256_mul_pd(r, r)));
      const __m256d lost = _mm256_and_pd(mask, _mm256_and_pd(_mm256_cmp_pd(c, zero, _CMP_EQ_OQ), _mm256_cmp_pd(r, zero, _CMP_NEQ_OQ)));
      underflow += __builtin_popcount(static_cast<unsigned>(_mm256_movemask_pd(lost)));
    }
  }
  alignas(32) double sums[2][4];
  _mm256_store_pd(sums[0], squared_error);
  _mm256_store_pd(sums[1], squared);
  stats->sumSquaredError += (sums[0][0] + sums[0][1]) + (sums[0][2] + sums[0][3]);
  stats->sumSquared += (sums[1][0] + sums[1][1]) + (sums[1][2] + sums[1][3]);
  stats->nonFinite += non_finite;
  stats->overflow += overflow;
  stats->underflow += underflow;
  return i;
}

JOULE_AVX2 size_t Bf16Stats(const void* input, const void* output, size_t count, double scale, Stats* stats) {
  return VectorStats(input, output, count, scale, stats, LoadF32x8{}, LoadBf16x8{});
}
JOULE_AVX2 size_t F16Stats(const void* input, const void* output, size_t count, double scale, Stats* stats) {
  return VectorStats(input, output, count, scale, stats, LoadF32x8{}, LoadF16x8{});
}
JOULE_AVX2 size_t Bf16WideStats(const void* input, const void* output, size_t count, double scale, Stats* stats) {
  return VectorStats(input, output, count, scale, stats, LoadBf16x8{}, LoadF32x8{});
}
JOULE_AVX2 size_t F16WideStats(const void* input, const void* output, size_t count, double scale, Stats* stats) {
  return VectorStats(input, output, count, scale, stats, LoadF16x8{}, LoadF32x8{});
}
JOULE_AVX2 size_t F32Stats(const void* input, const void* output, size_t count, double scale, Stats* stats) {
  return VectorStats(input, output, count, scale, stats, LoadF32x8{}, LoadF32x8{});
}

bool Supported() {
  const auto& f = cpu::Detect();
  return f.avx2 && f.f16c && f.fma;
}

}  // namespace

const PathKernels& Avx2Path() {
  static const PathKernels path{"avx2",
                                Supported,
                                {F32ToBf16, F32ToF16, Bf16ToF32, F16ToF32, F64ToF32, F32ToF64, F32ToF32},
                                {Bf16Stats, F16Stats, Bf16WideStats, F16WideStats, nullptr, nullptr, F32Stats}};
  return path;
}

}  // namespace joule::cast::detail
#endif
