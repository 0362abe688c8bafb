// 2-D convolutions for training, NHWC (tfjs layouts: x [N,H,W,IC], filter [FH,FW,IC,OC], y [N,OH,OW,OC];
// depthwise filter [FH,FW,C,M], y [N,OH,OW,C*M]), single-threaded on the caller's buffers.
#pragma once

#include <cstddef>

namespace joule::train {

struct ConvShape {
  int batch = 0;
  int inHeight = 0, inWidth = 0, inChannels = 0;
  int outHeight = 0, outWidth = 0;
  /** Conv2D: the filter's output channels; depthwise: inChannels × the channel multiplier. */
  int outChannels = 0;
  int filterHeight = 0, filterWidth = 0;
  int strideHeight = 1, strideWidth = 1;
  int dilationHeight = 1, dilationWidth = 1;
  /** Rows and columns of zeros before the input (tfjs padInfo.top/left); the bottom and right follow. */
  int padTop = 0, padLeft = 0;

  size_t InputCount() const { return size_t(batch) * inHeight * inWidth * inChannels; }
  size_t OutputCount() const { return size_t(batch) * outHeight * outWidth * outChannels; }
  size_t FilterCount(bool depthwise) const {
    return size_t(filterHeight) * filterWidth * (depthwise ? outChannels : size_t(inChannels) * outChannels);
  }
};

/** Why the shape cannot be computed (a negative size, a multiplier that does not divide), or null. */
const char* ConvShapeError(const ConvShape& shape, bool depthwise);

/** y = conv(x, filter). */
void Conv2D(const ConvShape& shape, const float* x, const float* filter, float* y);
/** dx = the gradient of conv(x, filter) with respect to x, given dy. */
void Conv2DBackpropInput(const ConvShape& shape, const float* dy, const float* filter, float* dx);
/** dFilter = the gradient with respect to the filter, given x and dy. */
void Conv2DBackpropFilter(const ConvShape& shape, const float* x, const float* dy, float* dFilter);

void DepthwiseConv2DBackpropInput(const ConvShape& shape, const float* dy, const float* filter, float* dx);
void DepthwiseConv2DBackpropFilter(const ConvShape& shape, const float* x, const float* dy, float* dFilter);

}  // namespace joule::train
