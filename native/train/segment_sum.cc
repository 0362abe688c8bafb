// UnsortedSegmentSum for float32 and int32 rows.
#include "train/segment_sum.h"

#include <algorithm>

#include "train/simd.h"

namespace joule::train {
namespace {

template <typename T>
JOULE_TRAIN_INLINE void SumRows(const T* x, const int32_t* ids, size_t rows, size_t width, int32_t segments, T* out) {
  std::fill(out, out + size_t(segments) * width, T(0));
  for (size_t i = 0; i < rows; ++i) {
    if (ids[i] < 0 || ids[i] >= segments) continue;
    T* target = out + size_t(ids[i]) * width;
    const T* row = x + i * width;
    for (size_t j = 0; j < width; ++j) target[j] += row[j];
  }
}

}  // namespace

JOULE_TRAIN_CLONES void UnsortedSegmentSum(const float* x, const int32_t* ids, size_t rows, size_t width,
                                           int32_t segments, float* out) {
  SumRows(x, ids, rows, width, segments, out);
}

JOULE_TRAIN_CLONES void UnsortedSegmentSum(const int32_t* x, const int32_t* ids, size_t rows, size_t width,
                                           int32_t segments, int32_t* out) {
  SumRows(x, ids, rows, width, segments, out);
}

}  // namespace joule::train
