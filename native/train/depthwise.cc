// The two gradients of the depthwise 2-D convolution (filter [FH,FW,C,M], output channel c·M + m), summed
// over the row segments where each tap sees the input; the channel loops are the vectorized ones.
#include <algorithm>
#include <vector>

#include "train/conv.h"
#include "train/simd.h"
#include "train/window.h"

namespace joule::train {
namespace {

JOULE_TRAIN_CLONES void FilterTap(const std::vector<Segment>& segments, const ConvShape& s, const float* x,
                                  const float* dy, float* dTap) {
  const int channels = s.inChannels, multiplier = s.outChannels / s.inChannels, out = s.outChannels;
  const size_t xStep = size_t(s.strideWidth) * channels;
  std::fill(dTap, dTap + out, 0.0f);
  for (const Segment& segment : segments) {
    const float* xp = x + segment.inputPixel * channels;
    const float* dp = dy + segment.outputPixel * out;
    for (int i = 0; i < segment.count; ++i, xp += xStep, dp += out) {
      if (multiplier == 1) {
        for (int c = 0; c < channels; ++c) dTap[c] += xp[c] * dp[c];
      } else {
        for (int c = 0; c < channels; ++c) {
          for (int m = 0; m < multiplier; ++m) dTap[c * multiplier + m] += xp[c] * dp[c * multiplier + m];
        }
      }
    }
  }
}

JOULE_TRAIN_CLONES void InputTap(const std::vector<Segment>& segments, const ConvShape& s, const float* dy,
                                 const float* wTap, float* dx) {
  const int channels = s.inChannels, multiplier = s.outChannels / s.inChannels, out = s.outChannels;
  const size_t xStep = size_t(s.strideWidth) * channels;
  for (const Segment& segment : segments) {
    float* xp = dx + segment.inputPixel * channels;
    const float* dp = dy + segment.outputPixel * out;
    for (int i = 0; i < segment.count; ++i, xp += xStep, dp += out) {
      if (multiplier == 1) {
        for (int c = 0; c < channels; ++c) xp[c] += dp[c] * wTap[c];
      } else {
        for (int c = 0; c < channels; ++c) {
          float sum = 0;
          for (int m = 0; m < multiplier; ++m) sum += dp[c * multiplier + m] * wTap[c * multiplier + m];
          xp[c] += sum;
        }
      }
    }
  }
}

}  // namespace

void DepthwiseConv2DBackpropFilter(const ConvShape& s, const float* x, const float* dy, float* dFilter) {
  std::vector<Segment> segments;
  for (int kh = 0; kh < s.filterHeight; ++kh) {
    for (int kw = 0; kw < s.filterWidth; ++kw) {
      TapSegments(s, kh, kw, &segments);
      FilterTap(segments, s, x, dy, dFilter + size_t(kh * s.filterWidth + kw) * s.outChannels);
    }
  }
}

void DepthwiseConv2DBackpropInput(const ConvShape& s, const float* dy, const float* filter, float* dx) {
  std::fill(dx, dx + s.InputCount(), 0.0f);
  std::vector<Segment> segments;
  for (int kh = 0; kh < s.filterHeight; ++kh) {
    for (int kw = 0; kw < s.filterWidth; ++kw) {
      TapSegments(s, kh, kw, &segments);
      InputTap(segments, s, dy, filter + size_t(kh * s.filterWidth + kw) * s.outChannels, dx);
    }
  }
}

}  // namespace joule::train
