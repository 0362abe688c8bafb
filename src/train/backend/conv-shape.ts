// The flat shape the native training kernels take (native/train/conv.h ConvShape, fields in order).
import * as tf from '@tensorflow/tfjs';

/** tfjs's description of a 2-D convolution (the return type of backend_util.computeConv2DInfo). */
export type Conv2DInfo = ReturnType<typeof tf.backend_util.computeConv2DInfo>;

export function nativeConvShape(info: Conv2DInfo): Int32Array {
  return Int32Array.from([
    info.batchSize, info.inHeight, info.inWidth, info.inChannels,
    info.outHeight, info.outWidth, info.outChannels,
    info.filterHeight, info.filterWidth,
    info.strideHeight, info.strideWidth,
    info.dilationHeight, info.dilationWidth,
    info.padInfo.top, info.padInfo.left,
  ]);
}
