// Which output pixels of a convolution row see a given filter tap inside the input: the row segments the
// filter gradients (dense and depthwise) sum over, with no per-pixel bounds test in their inner loops.
#pragma once

#include <algorithm>
#include <cstddef>
#include <vector>

#include "train/conv.h"

namespace joule::train {

/** A run of output pixels of one row whose input pixels under tap (kh, kw) are all inside the input. */
struct Segment {
  size_t inputPixel;   // index of the first input pixel (n, ih, iw), in pixels
  size_t outputPixel;  // index of the first output pixel (n, oh, ow), in pixels
  int count;           // consecutive output pixels; the input pixel advances by strideWidth
};

inline int CeilDiv(int a, int b) { return a >= 0 ? (a + b - 1) / b : -((-a) / b); }

/** The segments of tap (kh, kw), in (n, oh) order. */
inline void TapSegments(const ConvShape& s, int kh, int kw, std::vector<Segment>* segments) {
  segments->clear();
  const int columnOffset = kw * s.dilationWidth - s.padLeft;  // iw = ow * strideWidth + columnOffset
  const int owBegin = std::max(0, CeilDiv(-columnOffset, s.strideWidth));
  const int owEnd = std::min(s.outWidth, CeilDiv(s.inWidth - columnOffset, s.strideWidth));
  if (owBegin >= owEnd) return;
  for (int n = 0; n < s.batch; ++n) {
    for (int oh = 0; oh < s.outHeight; ++oh) {
      const int ih = oh * s.strideHeight - s.padTop + kh * s.dilationHeight;
      if (ih < 0 || ih >= s.inHeight) continue;
      const int iw = owBegin * s.strideWidth + columnOffset;
      segments->push_back({(size_t(n) * s.inHeight + ih) * s.inWidth + iw,
                           (size_t(n) * s.outHeight + oh) * s.outWidth + owBegin, owEnd - owBegin});
    }
  }
}

}  // namespace joule::train
