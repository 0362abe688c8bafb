// Element-wise reduction and conversion kernels for the host transports: plain loops over small
// blocks that g++ -O3 vectorises; half types accumulate in float32, widened and rounded by the SIMD casts.
#pragma once

#include <cstddef>
#include <cstdint>

#include "comm/types.h"

namespace joule::comm {

// How a buffer is stored where peers read it: the buffer's dtype, or the wire dtype when one is set.
DType StageType(DType dtype, Wire wire);

// Reduces `own` (the caller's buffer, dtype `dtype`; may be null) and `stages[0..stageCount)` (each in
// StageType(dtype, wire)) element-wise over `count` elements. Writes the result to `outStage` (stage
// type) and/or `outUser` (dtype) when non-null; with a wire, `outUser` receives the wire-rounded value
// so every rank ends with the same bits. `avgDivisor` divides for avg. Returns the number of elements that
// overflowed to ±Inf when rounded to the wire type from finite values.
uint64_t Reduce(DType dtype, Wire wire, RedOp op, int avgDivisor, const void* own, const void* const* stages,
                int stageCount, size_t count, void* outStage, void* outUser);

// Copies `count` elements from `src` (dtype `from`) to `dst` (dtype `to`), converting when they differ
// (only float32 <-> bf16/f16 are needed). Returns the overflows to ±Inf from finite values.
uint64_t ConvertCopy(DType from, DType to, const void* src, void* dst, size_t count);

}  // namespace joule::comm
