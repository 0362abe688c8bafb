// N-API glue for the training kernels (native/train): checks every argument, then runs the kernel on the
// caller's typed arrays in place (tfjs-wasm hands views of its heap), on the calling thread.
#include <cstdint>
#include <string>

#include "addon.h"
#include "errors.h"
#include "train/conv.h"
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
  if (!info[index].IsTypedArray()) Fail(info.Env(), function, std::string(name) + " must be a typed array");
  Napi::TypedArray typed = info[index].As<Napi::TypedArray>();
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
  if (!info[2].IsNumber()) Fail(env, function, "numSegments must be a number");
  const double segments = info[2].As<Napi::Number>().DoubleValue();
  const Array out = ArrayArgument(info, 3, "out", function);
  if (x.type != napi_float32_array && x.type != napi_int32_array) Fail(env, function, "x must be a Float32Array or an Int32Array");
  if (out.type != x.type) Fail(env, function, "out must have the type of x");
  if (ids.type != napi_int32_array) Fail(env, function, "segmentIds must be an Int32Array");
  if (!(segments >= 1 && segments <= INT32_MAX && segments == static_cast<int32_t>(segments))) {
    Fail(env, function, "numSegments must be a whole number from 1 to 2^31-1");
  }
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
}

}  // namespace joule
