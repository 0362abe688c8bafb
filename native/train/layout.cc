// Tile by whole-block copies, innermost axis first; row sums with float64 accumulators.
#include "train/layout.h"

#include <cstring>

#include "train/simd.h"

namespace joule::train {
namespace {

// Writes the tiling of x's sub-tensor at axis `axis` into out; returns the bytes written. Along an axis the
// output is [rep][index], so the block for all indices is built once and then copied reps - 1 times.
size_t TileAxis(const unsigned char* x, const std::vector<int64_t>& shape, const std::vector<int64_t>& reps,
                const std::vector<size_t>& inBytes, size_t axis, unsigned char* out) {
  size_t block = 0;
  if (axis + 1 == shape.size()) {
    block = inBytes[axis];
    std::memcpy(out, x, block);
  } else {
    for (int64_t i = 0; i < shape[axis]; ++i) block += TileAxis(x + i * inBytes[axis + 1], shape, reps, inBytes, axis + 1, out + block);
  }
  for (int64_t r = 1; r < reps[axis]; ++r) std::memcpy(out + r * block, out, block);
  return block * reps[axis];
}

}  // namespace

void Tile(const void* x, const std::vector<int64_t>& shape, const std::vector<int64_t>& reps, size_t elementBytes, void* out) {
  if (shape.empty()) {
    std::memcpy(out, x, elementBytes);
    return;
  }
  // inBytes[d]: the bytes of one x sub-tensor at axis d (axes d.. of x).
  std::vector<size_t> inBytes(shape.size());
  size_t bytes = elementBytes;
  for (size_t d = shape.size(); d-- > 0;) inBytes[d] = bytes *= shape[d];
  TileAxis(static_cast<const unsigned char*>(x), shape, reps, inBytes, 0, static_cast<unsigned char*>(out));
}

JOULE_TRAIN_CLONES void SumRows(const float* x, size_t rows, size_t width, float* out) {
  std::vector<double> sum(width, 0.0);
  for (size_t i = 0; i < rows; ++i) {
    const float* row = x + i * width;
    for (size_t j = 0; j < width; ++j) sum[j] += row[j];
  }
  for (size_t j = 0; j < width; ++j) out[j] = static_cast<float>(sum[j]);
}

}  // namespace joule::train
