// N-API glue for the training kernels (native/train): checks every argument, then runs the kernel on the
// caller's typed arrays in place (tfjs-wasm hands views of its heap), on the calling thread.
#include <cstdint>
#include <string>
#include <vector>

#include "addon.h"
#include "glue/args.h"
#include "errors.h"
#include "train/channels.h"
#include "train/conv.h"
#include "train/layout.h"
#include "train/segment_sum.h"

namespace joule {
namespace {

constexpr int kShapeFields = 15;

[[noreturn]] void Fail(Napi::Env env, const std::string& function, const std::string& message) {
  Napi::Error error = Napi::TypeError::New(env, function + ": " + message);
  error.Set("code", CodeName(ErrorCode::BadArgument));
  throw error;
}

struct Array {
  void* data = nullptr;
  size_t length = 0;
  size_t bytes = 0;
  napi_typedarray_type type = napi_float32_array;
};

Array ArrayArgument(const Napi::CallbackInfo& info, size_t index, const char* name, const std::string& function) {
  Napi::TypedArray typed = glue::TypedArrayOf(info.Env(), glue::Arg(info, index), function + "(" + name + ")");
  Array array;
  array.type = typed.TypedArrayType();
  array.length = typed.ElementLength();
  array.bytes = typed.ByteLength();
  array.data = static_cast<unsigned char*>(typed.ArrayBuffer().Data()) + typed.ByteOffset();
  return array;
}

Array FloatArgument(const Napi::CallbackInfo& info, size_t index, const char* name, size_t length,
                    const std::string& function) {
  Array array = ArrayArgument(info, index, name, function);
  if (array.type != napi_float32_array) Fail(info.Env(), function, std::string(name) + " must be a Float32Array");
  if (array.length != length) {
    Fail(info.Env(), function,
         std::string(name) + " holds " + std::to_string(array.length) + " elements; the shape needs " + std::to_string(length));
  }
  return array;
}

bool Overlap(const Array& a, const Array& b) {
  auto* a0 = static_cast<const unsigned char*>(a.data);
  auto* b0 = static_cast<const unsigned char*>(b.data);
  return a0 < b0 + b.bytes && b0 < a0 + a.bytes;
}

void CheckOutput(Napi::Env env, const std::string& function, const Array& out, const Array& a, const Array& b) {
  if (Overlap(out, a) || Overlap(out, b)) Fail(env, function, "the output must not overlap an input");
}

// The shape: an Int32Array of the ConvShape fields in declaration order.
train::ConvShape ShapeArgument(const Napi::CallbackInfo& info, bool depthwise, const std::string& function) {
  if (info.Length() != 4) Fail(info.Env(), function, "expects 4 arguments (shape, two inputs, the output)");
  Array array = ArrayArgument(info, 0, "shape", function);
  if (array.type != napi_int32_array || array.length != kShapeFields) {
    Fail(info.Env(), function, "shape must be an Int32Array of " + std::to_string(kShapeFields) + " fields");
  }
  const int32_t* f = static_cast<const int32_t*>(array.data);
  train::ConvShape s;
  s.batch = f[0];
  s.inHeight = f[1];
  s.inWidth = f[2];
  s.inChannels = f[3];
  s.outHeight = f[4];
  s.outWidth = f[5];
  s.outChannels = f[6];
  s.filterHeight = f[7];
  s.filterWidth = f[8];
  s.strideHeight = f[9];
  s.strideWidth = f[10];
  s.dilationHeight = f[11];
  s.dilationWidth = f[12];
  s.padTop = f[13];
  s.padLeft = f[14];
  if (const char* problem = train::ConvShapeError(s, depthwise)) Fail(info.Env(), function, problem);
  return s;
}

enum class Operand { kInput, kOutput, kFilter };

size_t CountOf(const train::ConvShape& s, Operand operand, bool depthwise) {
  switch (operand) {
    case Operand::kInput: return s.InputCount();
    case Operand::kOutput: return s.OutputCount();
    case Operand::kFilter: return s.FilterCount(depthwise);
  }
  return 0;
}

// What a position holds, in the names tfjs gives it (the forward pass reads y as an output, the gradients dy).
const char* NameOf(Operand operand, bool result) {
  switch (operand) {
    case Operand::kInput: return result ? "dx" : "x";
    case Operand::kOutput: return result ? "y" : "dy";
    case Operand::kFilter: return result ? "dFilter" : "filter";
  }
  return "?";
}

using ConvKernel = void (*)(const train::ConvShape&, const float*, const float*, float*);

// Wraps one convolution kernel: arguments (shape, a, b, result) with the operands each position holds.
template <ConvKernel kKernel, Operand kA, Operand kB, Operand kResult, bool kDepthwise>
Napi::Value ConvFunction(const Napi::CallbackInfo& info) {
  const std::string function = info.Data() == nullptr ? "conv" : static_cast<const char*>(info.Data());
  const train::ConvShape s = ShapeArgument(info, kDepthwise, function);
  const Array a = FloatArgument(info, 1, NameOf(kA, false), CountOf(s, kA, kDepthwise), function);
  const Array b = FloatArgument(info, 2, NameOf(kB, false), CountOf(s, kB, kDepthwise), function);
  const Array result = FloatArgument(info, 3, NameOf(kResult, true), CountOf(s, kResult, kDepthwise), function);
  CheckOutput(info.Env(), function, result, a, b);
  kKernel(s, static_cast<const float*>(a.data), static_cast<const float*>(b.data), static_cast<float*>(result.data));
  return info.Env().Undefined();
}

// unsortedSegmentSum(x, segmentIds, numSegments, out): x and out Float32Array or Int32Array alike.
Napi::Value UnsortedSegmentSum(const Napi::CallbackInfo& info) {
  const std::string function = "unsortedSegmentSum";
  Napi::Env env = info.Env();
  if (info.Length() != 4) Fail(env, function, "expects (x, segmentIds, numSegments, out)");
  const Array x = ArrayArgument(info, 0, "x", function);
  const Array ids = ArrayArgument(info, 1, "segmentIds", function);
  const int64_t segments = glue::IntegerOf(env, glue::Arg(info, 2), function + "(numSegments)", 1, INT32_MAX);
  const Array out = ArrayArgument(info, 3, "out", function);
  if (x.type != napi_float32_array && x.type != napi_int32_array) Fail(env, function, "x must be a Float32Array or an Int32Array");
  if (out.type != x.type) Fail(env, function, "out must have the type of x");
  if (ids.type != napi_int32_array) Fail(env, function, "segmentIds must be an Int32Array");
  if (ids.length == 0 || x.length % ids.length != 0) {
    Fail(env, function, "x must hold a whole number of rows per segment id");
  }
  const size_t width = x.length / ids.length;
  if (out.length != static_cast<size_t>(segments) * width) {
    Fail(env, function, "out holds " + std::to_string(out.length) + " elements; numSegments × row width is " +
                            std::to_string(static_cast<size_t>(segments) * width));
  }
  CheckOutput(env, function, out, x, ids);
  const auto* idData = static_cast<const int32_t*>(ids.data);
  if (x.type == napi_float32_array) {
    train::UnsortedSegmentSum(static_cast<const float*>(x.data), idData, ids.length, width, static_cast<int32_t>(segments),
                              static_cast<float*>(out.data));
  } else {
    train::UnsortedSegmentSum(static_cast<const int32_t*>(x.data), idData, ids.length, width,
                              static_cast<int32_t>(segments), static_cast<int32_t*>(out.data));
  }
  return env.Undefined();
}

size_t ElementBytes(napi_typedarray_type type) {
  switch (type) {
    case napi_int8_array: case napi_uint8_array: case napi_uint8_clamped_array: return 1;
    case napi_int16_array: case napi_uint16_array: return 2;
    case napi_int32_array: case napi_uint32_array: case napi_float32_array: return 4;
    default: return 8;
  }
}

std::vector<int64_t> Dimensions(const Napi::CallbackInfo& info, size_t index, const char* name, const std::string& function) {
  const Array array = ArrayArgument(info, index, name, function);
  if (array.type != napi_int32_array) Fail(info.Env(), function, std::string(name) + " must be an Int32Array");
  const auto* values = static_cast<const int32_t*>(array.data);
  std::vector<int64_t> out(values, values + array.length);
  for (int64_t v : out) {
    if (v < 1) Fail(info.Env(), function, std::string(name) + " must hold whole numbers of at least 1");
  }
  return out;
}

// tile(x, shape, reps, out): any typed array type, out of x's type and of the tiled length.
Napi::Value Tile(const Napi::CallbackInfo& info) {
  const std::string function = "tile";
  Napi::Env env = info.Env();
  if (info.Length() != 4) Fail(env, function, "expects (x, shape, reps, out)");
  const Array x = ArrayArgument(info, 0, "x", function);
  const std::vector<int64_t> shape = Dimensions(info, 1, "shape", function);
  const std::vector<int64_t> reps = Dimensions(info, 2, "reps", function);
  const Array out = ArrayArgument(info, 3, "out", function);
  if (reps.size() != shape.size()) Fail(env, function, "reps must have one entry per axis of shape");
  if (out.type != x.type) Fail(env, function, "out must have the type of x");
  size_t inCount = 1, outCount = 1;
  for (size_t d = 0; d < shape.size(); ++d) {
    inCount *= shape[d];
    outCount *= shape[d] * reps[d];
  }
  if (x.length != inCount) Fail(env, function, "x holds " + std::to_string(x.length) + " elements; shape needs " + std::to_string(inCount));
  if (out.length != outCount) Fail(env, function, "out holds " + std::to_string(out.length) + " elements; the tiling needs " + std::to_string(outCount));
  CheckOutput(env, function, out, x, x);
  train::Tile(x.data, shape, reps, ElementBytes(x.type), out.data);
  return env.Undefined();
}

// sumRows(x, width, out): out[j] = sum over the rows of x (width elements each) of column j.
Napi::Value SumRows(const Napi::CallbackInfo& info) {
  const std::string function = "sumRows";
  Napi::Env env = info.Env();
  if (info.Length() != 3) Fail(env, function, "expects (x, width, out)");
  const Array x = ArrayArgument(info, 0, "x", function);
  if (x.type != napi_float32_array) Fail(env, function, "x must be a Float32Array");
  const auto width = static_cast<size_t>(glue::IntegerOf(env, glue::Arg(info, 1), function + "(width)", 1, glue::kMaxSafeInteger));
  if (x.length % width != 0) Fail(env, function, "width must divide the length of x");
  const Array out = FloatArgument(info, 2, "out", width, function);
  CheckOutput(env, function, out, x, x);
  train::SumRows(static_cast<const float*>(x.data), x.length / width, width,
                 static_cast<float*>(out.data));
  return env.Undefined();
}

Array FloatOf(const Napi::CallbackInfo& info, size_t index, const char* name, const std::string& function) {
  const Array array = ArrayArgument(info, index, name, function);
  if (array.type != napi_float32_array) Fail(info.Env(), function, std::string(name) + " must be a Float32Array");
  return array;
}

// channelBinary(op, full, perChannel, channelFirst, out): op 0 add, 1 sub, 2 mul; perChannel's length is the
// channel count and divides full's.
Napi::Value ChannelBinary(const Napi::CallbackInfo& info) {
  const std::string function = "channelBinary";
  Napi::Env env = info.Env();
  if (info.Length() != 5) Fail(env, function, "expects (op, full, perChannel, channelFirst, out)");
  const auto op = glue::EnumOf<train::ChannelOp>(env, glue::Arg(info, 0), function + "(op: 0 add, 1 sub, 2 mul)",
                                                 static_cast<uint32_t>(train::ChannelOp::kCount));
  const Array full = FloatOf(info, 1, "full", function);
  const Array perChannel = FloatOf(info, 2, "perChannel", function);
  const bool channelFirst = glue::BooleanOf(env, glue::Arg(info, 3), function + "(channelFirst)");
  if (perChannel.length == 0 || full.length % perChannel.length != 0) {
    Fail(env, function, "perChannel's length must divide full's");
  }
  const Array out = FloatArgument(info, 4, "out", full.length, function);
  CheckOutput(env, function, out, full, perChannel);
  train::ChannelBinary(op, static_cast<const float*>(full.data), static_cast<const float*>(perChannel.data), channelFirst,
                       full.length / perChannel.length, perChannel.length, static_cast<float*>(out.data));
  return env.Undefined();
}

// batchNorm(x, mean, variance, offset | null, scale | null, epsilon, out): per-channel vectors of one length
// that divides x's.
Napi::Value BatchNorm(const Napi::CallbackInfo& info) {
  const std::string function = "batchNorm";
  Napi::Env env = info.Env();
  if (info.Length() != 7) Fail(env, function, "expects (x, mean, variance, offset, scale, epsilon, out)");
  const Array x = FloatOf(info, 0, "x", function);
  const Array mean = FloatOf(info, 1, "mean", function);
  const size_t channels = mean.length;
  if (channels == 0 || x.length % channels != 0) Fail(env, function, "mean's length must divide x's");
  const Array variance = FloatArgument(info, 2, "variance", channels, function);
  const float* vectors[2] = {nullptr, nullptr};
  const char* names[2] = {"offset", "scale"};
  for (int i = 0; i < 2; ++i) {
    if (info[3 + i].IsNull() || info[3 + i].IsUndefined()) continue;
    vectors[i] = static_cast<const float*>(FloatArgument(info, 3 + i, names[i], channels, function).data);
  }
  const double epsilon = glue::NumberOf(env, glue::Arg(info, 5), function + "(epsilon)", 0, 1);
  const Array out = FloatArgument(info, 6, "out", x.length, function);
  CheckOutput(env, function, out, x, mean);
  CheckOutput(env, function, out, variance, variance);
  train::BatchNorm(static_cast<const float*>(x.data), static_cast<const float*>(mean.data),
                   static_cast<const float*>(variance.data), vectors[0], vectors[1], static_cast<float>(epsilon),
                   x.length / channels, channels, static_cast<float*>(out.data));
  return env.Undefined();
}

template <Napi::Value (*kFunction)(const Napi::CallbackInfo&)>
void Export(Napi::Env env, Napi::Object exports, const char* name) {
  exports.Set(name, Napi::Function::New(env, kFunction, name, const_cast<char*>(name)));
}

}  // namespace

void RegisterTrain(Napi::Env env, Napi::Object exports) {
  using O = Operand;
  Export<ConvFunction<train::Conv2D, O::kInput, O::kFilter, O::kOutput, false>>(env, exports, "conv2d");
  Export<ConvFunction<train::Conv2DBackpropInput, O::kOutput, O::kFilter, O::kInput, false>>(env, exports, "conv2dBackpropInput");
  Export<ConvFunction<train::Conv2DBackpropFilter, O::kInput, O::kOutput, O::kFilter, false>>(env, exports, "conv2dBackpropFilter");
  Export<ConvFunction<train::DepthwiseConv2DBackpropInput, O::kOutput, O::kFilter, O::kInput, true>>(
      env, exports, "depthwiseConv2dBackpropInput");
  Export<ConvFunction<train::DepthwiseConv2DBackpropFilter, O::kInput, O::kOutput, O::kFilter, true>>(
      env, exports, "depthwiseConv2dBackpropFilter");
  Export<UnsortedSegmentSum>(env, exports, "unsortedSegmentSum");
  Export<Tile>(env, exports, "tile");
  Export<SumRows>(env, exports, "sumRows");
  Export<ChannelBinary>(env, exports, "channelBinary");
  Export<BatchNorm>(env, exports, "batchNorm");
}

}  // namespace joule
