// N-API glue for the cast module: typed arrays in, conversions on the calling thread (small arrays) or
// on a worker thread (castAsync, the benchmark loops), statistics out as plain objects.
#include <chrono>
#include <utility>

#include "addon.h"
#include "errors.h"
#include "cast/convert.h"
#include "glue/args.h"

namespace joule {
namespace {

struct View {
  void* data = nullptr;
  size_t bytes = 0;
};

View ViewOf(const Napi::Value& value, const char* what) {
  Napi::TypedArray array = glue::TypedArrayOf(value.Env(), value, what);
  View view;
  view.data = static_cast<unsigned char*>(array.ArrayBuffer().Data()) + array.ByteOffset();
  view.bytes = array.ByteLength();
  return view;
}

// The flat request a worker copies: no Napi values cross to the worker thread.
struct Request {
  cast::Direction direction = cast::Direction::kF32ToBf16;
  const void* input = nullptr;
  void* output = nullptr;
  size_t count = 0;
  cast::Options options;
  bool wantStats = false;
};

// Arguments: direction, input, output|null, scale, path (-1 = default), threads (0 = auto), wantStats.
Request ParseRequest(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Request request;
  request.direction = glue::EnumOf<cast::Direction>(env, glue::Arg(info, 0), "direction", static_cast<uint32_t>(cast::Direction::kCount));
  View input = ViewOf(glue::Arg(info, 1), "input");
  request.input = input.data;
  request.count = input.bytes / cast::SourceBytes(request.direction);
  if (!glue::Arg(info, 2).IsNull() && !glue::Arg(info, 2).IsUndefined()) {
    View output = ViewOf(info[2], "output");
    // TypeScript checked the lengths; this keeps a wrong call from writing past the buffer.
    if (output.bytes < request.count * cast::TargetBytes(request.direction)) {
      glue::BadArgument(env, "output", "at least " + std::to_string(request.count * cast::TargetBytes(request.direction)) + " bytes", info[2]);
    }
    request.output = output.data;
  }
  request.options.scale = static_cast<float>(glue::NumberOf(env, glue::Arg(info, 3), "scale", -3.4e38, 3.4e38));
  request.options.path = static_cast<int>(glue::IntegerOf(env, glue::Arg(info, 4), "path", -1, 64));
  request.options.threads = static_cast<int>(glue::IntegerOf(env, glue::Arg(info, 5), "threads", 0, 4096));
  request.wantStats = glue::BooleanOf(env, glue::Arg(info, 6), "wantStats");
  return request;
}

Napi::Value StatsToJs(Napi::Env env, const cast::Stats& stats) {
  Napi::Object out = Napi::Object::New(env);
  out.Set("relError", stats.RelError());
  out.Set("sumSquaredError", stats.sumSquaredError);
  out.Set("sumSquared", stats.sumSquared);
  out.Set("nonFinite", static_cast<double>(stats.nonFinite));
  out.Set("overflow", static_cast<double>(stats.overflow));
  out.Set("underflow", static_cast<double>(stats.underflow));
  return out;
}

Napi::Value CastSync(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Request request = ParseRequest(info);
  cast::Stats stats;
  std::string error;
  if (!cast::Convert(request.direction, request.input, request.output, request.count, request.options,
                     request.wantStats ? &stats : nullptr, &error)) {
    throw Napi::Error::New(env, error);
  }
  return request.wantStats ? StatsToJs(env, stats) : env.Undefined();
}

// Runs a cast `iterations` times on a worker thread, holding the arrays alive (references) while it
// reads and writes their memory. Resolves with the statistics (or undefined), or, for a benchmark, with
// the seconds all iterations took; rejects with `code` set when the subclass gave one.
class ArrayCastWorker : public Napi::AsyncWorker {
 public:
  ArrayCastWorker(const Napi::CallbackInfo& info, Request request, int iterations, bool resolveDuration)
      : Napi::AsyncWorker(info.Env()),
        request_(request),
        deferred_(Napi::Promise::Deferred::New(info.Env())),
        iterations_(iterations),
        resolveDuration_(resolveDuration) {
    // ParseRequest checked both are typed arrays.
    input_ = Napi::Persistent(info[1].ToObject());
    if (request.output != nullptr) output_ = Napi::Persistent(info[2].ToObject());
  }

  Napi::Promise Promise() { return deferred_.Promise(); }

  void Execute() override {
    auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < iterations_; ++i) {
      std::string error;
      if (!CastOnce(&error)) {
        SetError(error);
        return;
      }
    }
    durationS_ = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  }

  void OnOK() override {
    Napi::Env env = Env();
    if (resolveDuration_) deferred_.Resolve(Napi::Number::New(env, durationS_));
    else deferred_.Resolve(request_.wantStats ? StatsToJs(env, stats_) : env.Undefined());
  }

  void OnError(const Napi::Error& error) override {
    if (!code_.empty()) error.Value().Set("code", code_);
    deferred_.Reject(error.Value());
  }

 protected:
  // One cast of the request into stats_ (when wanted); false with `error` (and code_, if known) on failure.
  virtual bool CastOnce(std::string* error) = 0;

  Request request_;
  cast::Stats stats_;
  std::string code_;

 private:
  Napi::Promise::Deferred deferred_;
  Napi::ObjectReference input_;
  Napi::ObjectReference output_;
  int iterations_;
  bool resolveDuration_;
  double durationS_ = 0;
};

class CastWorker : public ArrayCastWorker {
 public:
  using ArrayCastWorker::ArrayCastWorker;

 protected:
  bool CastOnce(std::string* error) override {
    return cast::Convert(request_.direction, request_.input, request_.output, request_.count, request_.options,
                         request_.wantStats ? &stats_ : nullptr, error);
  }
};

Napi::Value CastAsync(const Napi::CallbackInfo& info) {
  auto* worker = new CastWorker(info, ParseRequest(info), 1, false);
  Napi::Promise promise = worker->Promise();
  worker->Queue();
  return promise;
}

// castBench(...castSync's arguments, iterations) -> Promise<seconds for all iterations>.
Napi::Value CastBench(const Napi::CallbackInfo& info) {
  const int iterations = static_cast<int>(glue::IntegerOf(info.Env(), glue::Arg(info, 7), "iterations", 1, INT32_MAX));
  auto* worker = new CastWorker(info, ParseRequest(info), iterations, true);
  Napi::Promise promise = worker->Promise();
  worker->Queue();
  return promise;
}

// The benchmark's baseline: memcpy of `source` into `target` over the same pool split as the casts.
class CopyWorker : public Napi::AsyncWorker {
 public:
  CopyWorker(const Napi::CallbackInfo& info, View source, View target, int iterations, int threads)
      : Napi::AsyncWorker(info.Env()),
        deferred_(Napi::Promise::Deferred::New(info.Env())),
        source_(source),
        target_(target),
        iterations_(iterations),
        threads_(threads) {
    // CopyBench checked both are typed arrays.
    sourceRef_ = Napi::Persistent(info[0].ToObject());
    targetRef_ = Napi::Persistent(info[1].ToObject());
  }

  Napi::Promise Promise() { return deferred_.Promise(); }

  void Execute() override {
    auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < iterations_; ++i) cast::ParallelCopy(source_.data, target_.data, source_.bytes, threads_);
    durationS_ = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  }
  void OnOK() override { deferred_.Resolve(Napi::Number::New(Env(), durationS_)); }
  void OnError(const Napi::Error& error) override { deferred_.Reject(error.Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  Napi::ObjectReference sourceRef_;
  Napi::ObjectReference targetRef_;
  View source_;
  View target_;
  int iterations_;
  int threads_;
  double durationS_ = 0;
};

// copyBench(source, target, iterations, threads) -> Promise<seconds>; copies source.byteLength bytes.
Napi::Value CopyBench(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  View source = ViewOf(glue::Arg(info, 0), "source");
  View target = ViewOf(glue::Arg(info, 1), "target");
  if (target.bytes < source.bytes) glue::BadArgument(env, "target", "at least " + std::to_string(source.bytes) + " bytes", info[1]);
  const int iterations = static_cast<int>(glue::IntegerOf(env, glue::Arg(info, 2), "iterations", 1, INT32_MAX));
  const int threads = static_cast<int>(glue::IntegerOf(env, glue::Arg(info, 3), "threads", 0, 4096));
  auto* worker = new CopyWorker(info, source, target, iterations, threads);
  Napi::Promise promise = worker->Promise();
  worker->Queue();
  return promise;
}

// The host-staged CUDA cast (libjoule_cuda.so through the loader): the CPU path's twin on a GPU, so the
// same tests and benchmark can compare them. Rejects with `code` set, as the TypeScript layer expects.
class CudaCastWorker : public ArrayCastWorker {
 public:
  CudaCastWorker(const Napi::CallbackInfo& info, Request request, int iterations, bool resolveDuration)
      : ArrayCastWorker(info, request, iterations, resolveDuration), addon_(JouleAddon::Of(info.Env())) {}

 protected:
  bool CastOnce(std::string* error) override {
    std::string reason;
    const cuda::Api* api = addon_.CudaApi(&reason);
    if (api == nullptr) {
      code_ = CodeName(ErrorCode::BackendUnavailable);
      *error = "CUDA cast unavailable: " + reason;
      return false;
    }
    joule_cuda_cast_stats_t stats{};
    int rc = api->CastHost(static_cast<int>(request_.direction), request_.input, request_.output, request_.count,
                           request_.options.scale, request_.wantStats ? &stats : nullptr);
    if (rc != 0) {
      code_ = CodeName(ErrorCode::NativeError);
      *error = "joule_cuda_cast_host failed: CUDA error " + std::to_string(rc) + ": " + api->ErrorString(rc);
      return false;
    }
    stats_.sumSquaredError = stats.sum_squared_error;
    stats_.sumSquared = stats.sum_squared;
    stats_.nonFinite = stats.non_finite;
    stats_.overflow = stats.overflow;
    stats_.underflow = stats.underflow;
    return true;
  }

 private:
  JouleAddon& addon_;
};

// cudaCast(...castSync's arguments) -> Promise<stats | undefined> (host-staged: both copies included).
Napi::Value CudaCast(const Napi::CallbackInfo& info) {
  auto* worker = new CudaCastWorker(info, ParseRequest(info), 1, false);
  Napi::Promise promise = worker->Promise();
  worker->Queue();
  return promise;
}

// cudaCastBench(direction, count, scale, iterations) -> Promise<{ castS, copyS }>: device buffers only,
// the kernel's time beside a device-to-device copy of the same bytes.
class CudaBenchWorker : public Napi::AsyncWorker {
 public:
  CudaBenchWorker(Napi::Env env, int direction, size_t count, float scale, int iterations)
      : Napi::AsyncWorker(env),
        addon_(JouleAddon::Of(env)),
        deferred_(Napi::Promise::Deferred::New(env)),
        direction_(direction),
        count_(count),
        scale_(scale),
        iterations_(iterations) {}

  Napi::Promise Promise() { return deferred_.Promise(); }

  void Execute() override {
    std::string reason;
    const cuda::Api* api = addon_.CudaApi(&reason);
    if (api == nullptr) {
      code_ = CodeName(ErrorCode::BackendUnavailable);
      SetError("CUDA cast unavailable: " + reason);
      return;
    }
    int rc = api->CastBench(direction_, count_, scale_, iterations_, &castS_, &copyS_);
    if (rc != 0) {
      code_ = CodeName(ErrorCode::NativeError);
      SetError("joule_cuda_cast_bench failed: CUDA error " + std::to_string(rc) + ": " + api->ErrorString(rc));
    }
  }

  void OnOK() override {
    Napi::Object out = Napi::Object::New(Env());
    out.Set("castS", castS_);
    out.Set("copyS", copyS_);
    deferred_.Resolve(out);
  }

  void OnError(const Napi::Error& error) override {
    error.Value().Set("code", code_);
    deferred_.Reject(error.Value());
  }

 private:
  JouleAddon& addon_;
  Napi::Promise::Deferred deferred_;
  int direction_;
  size_t count_;
  float scale_;
  int iterations_;
  std::string code_;
  double castS_ = 0;
  double copyS_ = 0;
};

Napi::Value CudaCastBench(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const int direction = static_cast<int>(glue::IntegerOf(env, glue::Arg(info, 0), "direction", 0, static_cast<int64_t>(cast::Direction::kCount) - 1));
  const int64_t count = glue::IntegerOf(env, glue::Arg(info, 1), "count", 1, glue::kMaxSafeInteger);
  const float scale = static_cast<float>(glue::NumberOf(env, glue::Arg(info, 2), "scale", -3.4e38, 3.4e38));
  const int iterations = static_cast<int>(glue::IntegerOf(env, glue::Arg(info, 3), "iterations", 1, INT32_MAX));
  auto* worker = new CudaBenchWorker(env, direction, static_cast<size_t>(count), scale, iterations);
  Napi::Promise promise = worker->Promise();
  worker->Queue();
  return promise;
}

Napi::Value CastPaths(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const auto& names = cast::PathNames();
  Napi::Array paths = Napi::Array::New(env, names.size());
  for (size_t i = 0; i < names.size(); ++i) {
    Napi::Object path = Napi::Object::New(env);
    path.Set("name", names[i]);
    path.Set("supported", cast::PathSupported(static_cast<int>(i)));
    paths.Set(i, path);
  }
  Napi::Object out = Napi::Object::New(env);
  out.Set("paths", paths);
  std::string error;
  int chosen = cast::DefaultPath(&error);
  if (chosen >= 0) out.Set("default", names[chosen]);
  else out.Set("defaultError", error);
  return out;
}

}  // namespace

void RegisterCast(Napi::Env env, Napi::Object exports) {
  exports.Set("castPaths", Napi::Function::New(env, CastPaths, "castPaths"));
  exports.Set("castSync", Napi::Function::New(env, CastSync, "castSync"));
  exports.Set("castAsync", Napi::Function::New(env, CastAsync, "castAsync"));
  exports.Set("castBench", Napi::Function::New(env, CastBench, "castBench"));
  exports.Set("copyBench", Napi::Function::New(env, CopyBench, "copyBench"));
  exports.Set("cudaCast", Napi::Function::New(env, CudaCast, "cudaCast"));
  exports.Set("cudaCastBench", Napi::Function::New(env, CudaCastBench, "cudaCastBench"));
}

}  // namespace joule
