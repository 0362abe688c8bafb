// Dense 2-D convolution and its two gradients as register-blocked direct loops (no im2col buffer):
// the forward pass and the input gradient share one gather kernel, the filter gradient sums row segments.
#include "train/conv.h"

#include <algorithm>
#include <vector>

#include "train/simd.h"
#include "train/window.h"

namespace joule::train {

const char* ConvShapeError(const ConvShape& s, bool depthwise) {
  if (s.batch < 1 || s.inHeight < 1 || s.inWidth < 1 || s.inChannels < 1 || s.outHeight < 1 || s.outWidth < 1 ||
      s.outChannels < 1 || s.filterHeight < 1 || s.filterWidth < 1) {
    return "every size must be at least 1";
  }
  if (s.strideHeight < 1 || s.strideWidth < 1 || s.dilationHeight < 1 || s.dilationWidth < 1) {
    return "strides and dilations must be at least 1";
  }
  if (s.padTop < 0 || s.padLeft < 0) return "padding must not be negative";
  if (depthwise && s.outChannels % s.inChannels != 0) {
    return "depthwise output channels must be a multiple of the input channels";
  }
  return nullptr;
}

namespace {

// Output pixels computed together by the gather kernel: eight rows of accumulators stay in registers.
constexpr int kTile = 8;

// The taps of one tile: for each tap, the kTile rows of `depth` values it reads (a zero row where the tap
// falls outside the input, or past the tile's end) and its [depth][width] weight matrix.
struct Taps {
  int used = 0;
  std::vector<const float*> rows;
  std::vector<const float*> weights;
  explicit Taps(int capacity) : rows(size_t(capacity) * kTile), weights(capacity) {}
};

// out[p][c0 .. c0+16·V) = Σ_t Σ_k rows[t][p][k] · weights[t][k][c], for every p of the tile.
template <int V>
JOULE_TRAIN_INLINE void GatherBlock(const Taps& taps, int depth, int width, int c0, float* const* out) {
  Vec16 acc[kTile][V] = {};
  for (int t = 0; t < taps.used; ++t) {
    const float* row[kTile];
    for (int p = 0; p < kTile; ++p) row[p] = taps.rows[size_t(t) * kTile + p];
    const float* w = taps.weights[t] + c0;
    for (int k = 0; k < depth; ++k, w += width) {
      Vec16 wv[V];
      for (int v = 0; v < V; ++v) wv[v] = Load16(w + v * kLanes);
      for (int p = 0; p < kTile; ++p) {
        const Vec16 a = Broadcast16(row[p][k]);
        for (int v = 0; v < V; ++v) acc[p][v] += a * wv[v];
      }
    }
  }
  for (int p = 0; p < kTile; ++p) {
    for (int v = 0; v < V; ++v) Store16(out[p] + c0 + v * kLanes, acc[p][v]);
  }
}

JOULE_TRAIN_CLONES void GatherTile(const Taps& taps, int depth, int width, float* const* out) {
  int c = 0;
  for (; c + 2 * kLanes <= width; c += 2 * kLanes) GatherBlock<2>(taps, depth, width, c, out);
  for (; c + kLanes <= width; c += kLanes) GatherBlock<1>(taps, depth, width, c, out);
  for (; c < width; ++c) {
    for (int p = 0; p < kTile; ++p) {
      float sum = 0;
      for (int t = 0; t < taps.used; ++t) {
        const float* row = taps.rows[size_t(t) * kTile + p];
        const float* w = taps.weights[t] + c;
        for (int k = 0; k < depth; ++k) sum += row[k] * w[size_t(k) * width];
      }
      out[p][c] = sum;
    }
  }
}

// dFilter[tap][r0 .. r0+R)[c0 .. c0+16·V) = Σ over the segments' pixels of x[pixel][r] · dy[pixel][c].
template <int R, int V>
JOULE_TRAIN_INLINE void FilterBlock(const std::vector<Segment>& segments, const ConvShape& s, const float* x,
                                    const float* dy, int r0, int c0, float* dTap) {
  const int in = s.inChannels, out = s.outChannels;
  const size_t xStep = size_t(s.strideWidth) * in;
  Vec16 acc[R][V] = {};
  for (const Segment& segment : segments) {
    const float* xp = x + segment.inputPixel * in + r0;
    const float* dp = dy + segment.outputPixel * out + c0;
    for (int i = 0; i < segment.count; ++i, xp += xStep, dp += out) {
      Vec16 d[V];
      for (int v = 0; v < V; ++v) d[v] = Load16(dp + v * kLanes);
      for (int r = 0; r < R; ++r) {
        const Vec16 a = Broadcast16(xp[r]);
        for (int v = 0; v < V; ++v) acc[r][v] += a * d[v];
      }
    }
  }
  for (int r = 0; r < R; ++r) {
    for (int v = 0; v < V; ++v) Store16(dTap + size_t(r0 + r) * out + c0 + v * kLanes, acc[r][v]);
  }
}

template <int R>
JOULE_TRAIN_INLINE void FilterRows(const std::vector<Segment>& segments, const ConvShape& s, const float* x,
                                   const float* dy, int r0, float* dTap) {
  const int out = s.outChannels;
  int c = 0;
  for (; c + 2 * kLanes <= out; c += 2 * kLanes) FilterBlock<R, 2>(segments, s, x, dy, r0, c, dTap);
  for (; c + kLanes <= out; c += kLanes) FilterBlock<R, 1>(segments, s, x, dy, r0, c, dTap);
  for (; c < out; ++c) {
    float sum[R] = {};
    for (const Segment& segment : segments) {
      const float* xp = x + segment.inputPixel * s.inChannels + r0;
      const float* dp = dy + segment.outputPixel * out + c;
      for (int i = 0; i < segment.count; ++i, xp += size_t(s.strideWidth) * s.inChannels, dp += out) {
        for (int r = 0; r < R; ++r) sum[r] += xp[r] * *dp;
      }
    }
    for (int r = 0; r < R; ++r) dTap[size_t(r0 + r) * out + c] = sum[r];
  }
}

JOULE_TRAIN_CLONES void FilterTap(const std::vector<Segment>& segments, const ConvShape& s, const float* x,
                                  const float* dy, float* dTap) {
  int r = 0;
  for (; r + 8 <= s.inChannels; r += 8) FilterRows<8>(segments, s, x, dy, r, dTap);
  for (; r + 4 <= s.inChannels; r += 4) FilterRows<4>(segments, s, x, dy, r, dTap);
  for (; r < s.inChannels; ++r) FilterRows<1>(segments, s, x, dy, r, dTap);
}

}  // namespace

void Conv2D(const ConvShape& s, const float* x, const float* filter, float* y) {
  const int in = s.inChannels, out = s.outChannels;
  Taps taps(s.filterHeight * s.filterWidth);
  const std::vector<float> zeros(in, 0.0f);
  std::vector<float> discard(out);
  for (int n = 0; n < s.batch; ++n) {
    for (int oh = 0; oh < s.outHeight; ++oh) {
      for (int ow0 = 0; ow0 < s.outWidth; ow0 += kTile) {
        const int count = std::min(kTile, s.outWidth - ow0);
        taps.used = 0;
        for (int kh = 0; kh < s.filterHeight; ++kh) {
          const int ih = oh * s.strideHeight - s.padTop + kh * s.dilationHeight;
          if (ih < 0 || ih >= s.inHeight) continue;
          const float* inputRow = x + (size_t(n) * s.inHeight + ih) * s.inWidth * in;
          for (int kw = 0; kw < s.filterWidth; ++kw) {
            const float** rows = &taps.rows[size_t(taps.used) * kTile];
            bool inside = false;
            for (int p = 0; p < kTile; ++p) {
              const int iw = (ow0 + p) * s.strideWidth - s.padLeft + kw * s.dilationWidth;
              const bool valid = p < count && iw >= 0 && iw < s.inWidth;
              rows[p] = valid ? inputRow + size_t(iw) * in : zeros.data();
              inside |= valid;
            }
            if (inside) taps.weights[taps.used++] = filter + size_t(kh * s.filterWidth + kw) * in * out;
          }
        }
        float* outRows[kTile];
        for (int p = 0; p < kTile; ++p) {
          outRows[p] = p < count ? y + ((size_t(n) * s.outHeight + oh) * s.outWidth + ow0 + p) * out : discard.data();
        }
        GatherTile(taps, in, out, outRows);
      }
    }
  }
}

void Conv2DBackpropInput(const ConvShape& s, const float* dy, const float* filter, float* dx) {
  const int in = s.inChannels, out = s.outChannels, tapCount = s.filterHeight * s.filterWidth;
  // The gather runs over output channels, so each tap's matrix is transposed to [out][in] once.
  std::vector<float> transposed(size_t(tapCount) * in * out);
  for (int t = 0; t < tapCount; ++t) {
    for (int i = 0; i < in; ++i) {
      for (int o = 0; o < out; ++o) transposed[(size_t(t) * out + o) * in + i] = filter[(size_t(t) * in + i) * out + o];
    }
  }
  Taps taps(tapCount);
  const std::vector<float> zeros(out, 0.0f);
  std::vector<float> discard(in);
  const int sw = s.strideWidth;
  for (int n = 0; n < s.batch; ++n) {
    for (int ih = 0; ih < s.inHeight; ++ih) {
      // Columns with the same remainder modulo the stride see the same taps: tiles take every sw-th column.
      for (int first = 0; first < std::min(sw, s.inWidth); ++first) {
        const int columns = (s.inWidth - first + sw - 1) / sw;
        for (int j0 = 0; j0 < columns; j0 += kTile) {
          const int count = std::min(kTile, columns - j0);
          const int iw0 = first + j0 * sw;
          taps.used = 0;
          for (int kh = 0; kh < s.filterHeight; ++kh) {
            const int rowOffset = ih + s.padTop - kh * s.dilationHeight;
            if (rowOffset < 0 || rowOffset % s.strideHeight != 0 || rowOffset / s.strideHeight >= s.outHeight) continue;
            const float* dyRow = dy + (size_t(n) * s.outHeight + rowOffset / s.strideHeight) * s.outWidth * out;
            for (int kw = 0; kw < s.filterWidth; ++kw) {
              const int columnOffset = iw0 + s.padLeft - kw * s.dilationWidth;
              if (((columnOffset % sw) + sw) % sw != 0) continue;
              const int ow0 = columnOffset / sw;  // exact: the remainder is zero
              const float** rows = &taps.rows[size_t(taps.used) * kTile];
              bool inside = false;
              for (int p = 0; p < kTile; ++p) {
                const int ow = ow0 + p;
                const bool valid = p < count && ow >= 0 && ow < s.outWidth;
                rows[p] = valid ? dyRow + size_t(ow) * out : zeros.data();
                inside |= valid;
              }
              if (inside) taps.weights[taps.used++] = transposed.data() + size_t(kh * s.filterWidth + kw) * in * out;
            }
          }
          float* outRows[kTile];
          for (int p = 0; p < kTile; ++p) {
            outRows[p] =
                p < count ? dx + ((size_t(n) * s.inHeight + ih) * s.inWidth + iw0 + size_t(p) * sw) * in : discard.data();
          }
          GatherTile(taps, out, in, outRows);
        }
      }
    }
  }
}

void Conv2DBackpropFilter(const ConvShape& s, const float* x, const float* dy, float* dFilter) {
  std::vector<Segment> segments;
  for (int kh = 0; kh < s.filterHeight; ++kh) {
    for (int kw = 0; kw < s.filterWidth; ++kw) {
      TapSegments(s, kh, kw, &segments);
      FilterTap(segments, s, x, dy, dFilter + size_t(kh * s.filterWidth + kw) * s.inChannels * s.outChannels);
    }
  }
}

}  // namespace joule::train
