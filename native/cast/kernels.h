// The per-path kernel tables behind Convert: one plain loop per direction and instruction set.
#pragma once

#include <cstddef>

#include "cast/convert.h"

namespace joule::cast::detail {

// Converts `count` elements; `scale` == 1 means no multiplication at all (so NaN payloads pass through
// a f32 -> f32 copy untouched on every path).
using Kernel = void (*)(const void* input, void* output, size_t count, float scale);

// Adds the statistics of the first n elements of a converted chunk to *stats and returns n (a whole
// number of vectors); Convert covers the rest with the portable loop. Null where a path has none.
using StatsKernel = size_t (*)(const void* input, const void* output, size_t count, double scale, Stats* stats);

struct PathKernels {
  const char* name;
  bool (*supported)();
  Kernel kernels[static_cast<int>(Direction::kCount)];
  StatsKernel stats[static_cast<int>(Direction::kCount)] = {};
};

// The portable loops over cast/scalar.h; the SIMD paths also use them for their tails.
const PathKernels& ScalarPath();
#if defined(__x86_64__)
const PathKernels& Avx2Path();       // AVX2 + F16C: integer rounding for bf16
const PathKernels& Avx512Path();     // AVX-512 F/BW/VL + F16C: integer rounding for bf16
const PathKernels& Avx512Bf16Path(); // as Avx512Path, but f32 -> bf16 through VCVTNEPS2BF16
#endif

}  // namespace joule::cast::detail
