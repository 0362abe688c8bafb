// N-API glue for the power sampler: a PowerSampler class whose start() opens NVML on a worker thread.
#include <memory>

#include "addon.h"
#include "errors.h"
#include "glue/args.h"
#include "power/sampler.h"

namespace joule {
namespace {

const char* const kFieldNames[power::kFieldCount] = {
    "timeS", "channel", "energyJ", "powerW", "utilizationPct", "smClockMHz", "temperatureC", "cpuTimeS",
    "energyStatus", "powerStatus", "wraps", "resets"};

const char* KindName(power::ChannelKind kind) {
  switch (kind) {
    case power::ChannelKind::kGpu: return "gpu";
    case power::ChannelKind::kRapl: return "rapl";
    case power::ChannelKind::kProcess: return "process";
  }
  return "unknown";
}

power::SamplerConfig ConfigFromJs(Napi::Env env, const Napi::Value& value) {
  using namespace glue;
  const Napi::Object options = ObjectOf(env, value, "PowerSampler(options)");
  const auto name = [](const char* key) { return std::string("PowerSampler(options).") + key; };
  power::SamplerConfig config;
  config.periodS = NumberOf(env, options.Get("periodS"), name("periodS"), 1e-6, 3600);
  config.auxPeriodS = NumberOf(env, options.Get("auxPeriodS"), name("auxPeriodS"), 1e-6, 3600);
  Napi::Array gpus = ArrayOf(env, options.Get("gpus"), name("gpus"));
  for (uint32_t i = 0; i < gpus.Length(); ++i) {
    config.gpus.push_back(static_cast<uint32_t>(IntegerOf(env, gpus.Get(i), name("gpus") + "[" + std::to_string(i) + "]", 0, 1 << 16)));
  }
  config.rapl = BooleanOf(env, options.Get("rapl"), name("rapl"));
  config.powercapRoot = StringOf(env, options.Get("powercapRoot"), name("powercapRoot"));
  config.capacityTicks = static_cast<uint32_t>(IntegerOf(env, options.Get("capacityTicks"), name("capacityTicks"), 1, 1 << 26));
  return config;
}

Napi::Object DescribeChannel(Napi::Env env, const power::Channel& channel) {
  Napi::Object out = Napi::Object::New(env);
  out.Set("kind", KindName(channel.kind));
  out.Set("label", channel.label);
  if (channel.kind == power::ChannelKind::kGpu) {
    out.Set("gpuIndex", channel.gpuIndex);
    out.Set("name", channel.gpu.name);
    out.Set("uuid", channel.gpu.uuid);
    out.Set("powerLimitW", channel.gpu.powerLimitW < 0 ? env.Null() : Napi::Number::New(env, channel.gpu.powerLimitW));
    out.Set("energyCounter", channel.energyFallback.empty());
    if (!channel.energyFallback.empty()) out.Set("energyFallback", channel.energyFallback);
  }
  if (channel.kind == power::ChannelKind::kRapl) {
    out.Set("path", channel.path);
    out.Set("maxEnergyRangeUj", static_cast<double>(channel.rangeUj));
  }
  return out;
}

class PowerSampler : public Napi::ObjectWrap<PowerSampler> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "PowerSampler",
                       {InstanceMethod<&PowerSampler::Start>("start"), InstanceMethod<&PowerSampler::Drain>("drain"),
                        InstanceMethod<&PowerSampler::Kick>("kick"), InstanceMethod<&PowerSampler::Stats>("stats"),
                        InstanceMethod<&PowerSampler::Stop>("stop")});
  }

  explicit PowerSampler(const Napi::CallbackInfo& info) : Napi::ObjectWrap<PowerSampler>(info) {
    power::SamplerConfig config = ConfigFromJs(info.Env(), glue::Arg(info, 0));
    needsNvml_ = !config.gpus.empty();
    sampler_ = std::make_unique<power::Sampler>(std::move(config));
  }

 private:
  class StartWorker : public Napi::AsyncWorker {
   public:
    StartWorker(Napi::Env env, PowerSampler* owner, bool needs_nvml)
        : Napi::AsyncWorker(env), owner_(owner), addon_(JouleAddon::Of(env)), needsNvml_(needs_nvml),
          deferred_(Napi::Promise::Deferred::New(env)) {
      self_ = Napi::Persistent(owner->Value());
    }
    Napi::Promise Promise() { return deferred_.Promise(); }

    void Execute() override {
      const nvml::Nvml* nvml = nullptr;
      if (needsNvml_) {
        std::lock_guard<std::mutex> lock(addon_.librariesMutex);
        addon_.libraries.nvml.Load();
        nvml = &addon_.libraries.nvml;
      }
      owner_->sampler_->Start(nvml);
    }
    void OnOK() override {
      Napi::Env env = Env();
      const power::Sampler& sampler = *owner_->sampler_;
      Napi::Object out = Napi::Object::New(env);
      Napi::Array channels = Napi::Array::New(env, sampler.channels().size());
      for (size_t i = 0; i < sampler.channels().size(); ++i) channels.Set(i, DescribeChannel(env, sampler.channels()[i]));
      out.Set("channels", channels);
      Napi::Array unavailable = Napi::Array::New(env, sampler.unavailable().size());
      for (size_t i = 0; i < sampler.unavailable().size(); ++i) {
        Napi::Object entry = Napi::Object::New(env);
        entry.Set("source", sampler.unavailable()[i].source);
        entry.Set("reason", sampler.unavailable()[i].reason);
        unavailable.Set(i, entry);
      }
      out.Set("unavailable", unavailable);
      out.Set("fields", FieldNames(env));
      if (needsNvml_ && addon_.libraries.nvml.usable()) {
        out.Set("nvmlLibrary", addon_.libraries.nvml.path());
        out.Set("driverVersion", addon_.libraries.nvml.driverVersion());
      }
      deferred_.Resolve(out);
    }
    void OnError(const Napi::Error& error) override { deferred_.Reject(error.Value()); }

   private:
    PowerSampler* owner_;
    JouleAddon& addon_;
    bool needsNvml_;
    Napi::Promise::Deferred deferred_;
    Napi::ObjectReference self_;  // keeps the sampler alive while the worker uses it
  };

  static Napi::Array FieldNames(Napi::Env env) {
    Napi::Array names = Napi::Array::New(env, power::kFieldCount);
    for (uint32_t i = 0; i < power::kFieldCount; ++i) names.Set(i, kFieldNames[i]);
    return names;
  }

  Napi::Value Start(const Napi::CallbackInfo& info) {
    if (started_) throw Napi::Error::New(info.Env(), "PowerSampler.start() called twice");
    started_ = true;
    auto* worker = new StartWorker(info.Env(), this, needsNvml_);
    Napi::Promise promise = worker->Promise();
    worker->Queue();
    return promise;
  }

  Napi::Value Drain(const Napi::CallbackInfo& info) {
    buffer_.clear();
    sampler_->Drain(&buffer_);
    Napi::Float64Array out = Napi::Float64Array::New(info.Env(), buffer_.size());
    std::copy(buffer_.begin(), buffer_.end(), out.Data());
    return out;
  }

  void Kick(const Napi::CallbackInfo&) { sampler_->Kick(); }

  Napi::Value Stats(const Napi::CallbackInfo& info) {
    power::SamplerStats stats = sampler_->Stats();
    Napi::Object out = Napi::Object::New(info.Env());
    out.Set("ticks", static_cast<double>(stats.ticks));
    out.Set("samples", static_cast<double>(stats.samples));
    out.Set("overrunSamples", static_cast<double>(stats.overrunSamples));
    out.Set("threadCpuTimeS", stats.threadCpuTimeS);
    out.Set("periodS", stats.periodS);
    out.Set("pendingSamples", static_cast<double>(stats.pendingSamples));
    return out;
  }

  void Stop(const Napi::CallbackInfo&) { sampler_->Stop(); }

  std::unique_ptr<power::Sampler> sampler_;
  std::vector<double> buffer_;
  bool started_ = false;
  bool needsNvml_ = false;
};

// Reads (and, given watts, first sets) one GPU's power limit on a worker thread: nvmlInit can take seconds.
class GpuPowerLimitWorker : public Napi::AsyncWorker {
 public:
  GpuPowerLimitWorker(Napi::Env env, unsigned int index, double set_w)
      : Napi::AsyncWorker(env), addon_(JouleAddon::Of(env)), index_(index), setW_(set_w),
        deferred_(Napi::Promise::Deferred::New(env)) {}
  Napi::Promise Promise() { return deferred_.Promise(); }

  void Execute() override {
    std::lock_guard<std::mutex> lock(addon_.librariesMutex);
    nvml::Nvml& nvml = addon_.libraries.nvml;
    if (!nvml.Load()) {
      code_ = CodeName(ErrorCode::BackendUnavailable);
      error_ = "NVML is not usable: " + nvml.reason();
      return;
    }
    code_ = CodeName(ErrorCode::NativeError);
    if (setW_ >= 0 && !nvml.SetPowerLimit(index_, setW_, &error_)) return;
    if (!nvml.PowerLimit(index_, &info_, &error_)) return;
    code_.clear();
  }
  void OnOK() override {
    Napi::Env env = Env();
    if (!code_.empty()) {
      Napi::Error error = Napi::Error::New(env, "GPU " + std::to_string(index_) + " power limit: " + error_);
      error.Set("code", code_);
      error.Set("device", std::to_string(index_));
      error.Set("libraryError", error_);
      deferred_.Reject(error.Value());
      return;
    }
    auto watts = [&](double w) { return w < 0 ? env.Null() : Napi::Number::New(env, w); };
    Napi::Object out = Napi::Object::New(env);
    out.Set("index", index_);
    out.Set("limitW", watts(info_.limitW));
    out.Set("minW", watts(info_.minW));
    out.Set("maxW", watts(info_.maxW));
    out.Set("defaultW", watts(info_.defaultW));
    deferred_.Resolve(out);
  }
  void OnError(const Napi::Error& error) override { deferred_.Reject(error.Value()); }

 private:
  JouleAddon& addon_;
  unsigned int index_;
  double setW_;
  Napi::Promise::Deferred deferred_;
  nvml::PowerLimitInfo info_;
  std::string code_;
  std::string error_;
};

Napi::Value GpuPowerLimit(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const uint32_t index = static_cast<uint32_t>(glue::IntegerOf(env, glue::Arg(info, 0), "gpuPowerLimit(index)", 0, 1 << 16));
  const bool has_watts = !glue::Arg(info, 1).IsUndefined();
  const double watts = has_watts ? glue::NumberOf(env, info[1], "gpuPowerLimit(watts)", 1e-3, 1e6) : -1;
  auto* worker = new GpuPowerLimitWorker(env, index, watts);
  Napi::Promise promise = worker->Promise();
  worker->Queue();
  return promise;
}

}  // namespace

void RegisterPower(Napi::Env env, Napi::Object exports) {
  exports.Set("PowerSampler", PowerSampler::Define(env));
  exports.Set("gpuPowerLimit", Napi::Function::New(env, GpuPowerLimit, "gpuPowerLimit"));
}

}  // namespace joule
