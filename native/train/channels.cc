// Per-channel arithmetic: one pass over the rows, the per-channel vector read from L1.
#include "train/channels.h"

#include <cmath>
#include <vector>

#include "train/simd.h"

namespace joule::train {
namespace {

template <typename F>
JOULE_TRAIN_INLINE void ForRows(const float* full, const float* perChannel, size_t rows, size_t channels, float* out, F f) {
  for (size_t i = 0; i < rows; ++i) {
    const float* row = full + i * channels;
    float* target = out + i * channels;
    for (size_t c = 0; c < channels; ++c) target[c] = f(row[c], perChannel[c]);
  }
}

}  // namespace

JOULE_TRAIN_CLONES void ChannelBinary(ChannelOp op, const float* full, const float* perChannel, bool channelFirst,
                                      size_t rows, size_t channels, float* out) {
  switch (op) {
    case ChannelOp::kAdd: ForRows(full, perChannel, rows, channels, out, [](float a, float b) { return a + b; }); break;
    case ChannelOp::kMul: ForRows(full, perChannel, rows, channels, out, [](float a, float b) { return a * b; }); break;
    case ChannelOp::kSub:
      if (channelFirst) ForRows(full, perChannel, rows, channels, out, [](float a, float b) { return b - a; });
      else ForRows(full, perChannel, rows, channels, out, [](float a, float b) { return a - b; });
      break;
    case ChannelOp::kCount: break;
  }
}

JOULE_TRAIN_CLONES void BatchNorm(const float* x, const float* mean, const float* variance, const float* offset,
                                  const float* scale, float epsilon, size_t rows, size_t channels, float* out) {
  // y = x · factor + shift, with factor = scale / sqrt(variance + epsilon) and shift = offset − mean · factor.
  std::vector<float> factor(channels), shift(channels);
  for (size_t c = 0; c < channels; ++c) {
    factor[c] = (scale ? scale[c] : 1.0f) / std::sqrt(variance[c] + epsilon);
    shift[c] = (offset ? offset[c] : 0.0f) - mean[c] * factor[c];
  }
  const float* f = factor.data();
  const float* s = shift.data();
  for (size_t i = 0; i < rows; ++i) {
    const float* row = x + i * channels;
    float* target = out + i * channels;
    for (size_t c = 0; c < channels; ++c) target[c] = row[c] * f[c] + s[c];
  }
}

}  // namespace joule::train
