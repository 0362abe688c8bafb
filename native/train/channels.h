// Per-channel arithmetic on channels-last data ([rows, channels] with one value per channel): batch
// normalization's forward pass and the broadcasting binary operations its gradient is made of.
#pragma once

#include <cstddef>

namespace joule::train {

enum class ChannelOp { kAdd = 0, kSub = 1, kMul = 2, kCount = 3 };

/** out = full ∘ perChannel (or perChannel ∘ full when `channelFirst`), perChannel broadcast over the rows. */
void ChannelBinary(ChannelOp op, const float* full, const float* perChannel, bool channelFirst, size_t rows,
                   size_t channels, float* out);

/** out = (x − mean) / sqrt(variance + epsilon) · scale + offset per channel; null scale = 1, null offset = 0. */
void BatchNorm(const float* x, const float* mean, const float* variance, const float* offset, const float* scale,
               float epsilon, size_t rows, size_t channels, float* out);

}  // namespace joule::train
