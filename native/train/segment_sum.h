// UnsortedSegmentSum (the gradient of gather, so of embeddings): rows of x added into their segment's row.
#pragma once

#include <cstddef>
#include <cstdint>

namespace joule::train {

/** out[s] = Σ over rows i with ids[i] == s of x[i] (rows of `width` elements); ids outside [0, segments) are
 *  dropped, as TensorFlow does. `out` holds segments × width elements. */
void UnsortedSegmentSum(const float* x, const int32_t* ids, size_t rows, size_t width, int32_t segments, float* out);
void UnsortedSegmentSum(const int32_t* x, const int32_t* ids, size_t rows, size_t width, int32_t segments, int32_t* out);

}  // namespace joule::train
