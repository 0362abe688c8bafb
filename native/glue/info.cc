// N-API glue for the capability report and build description.
#include <utility>

#include "addon.h"

namespace joule {
namespace {

// The build defines both; the defaults describe a build that set neither.
#ifndef JOULE_BUILD_SYSTEM
#define JOULE_BUILD_SYSTEM "unknown"
#endif
#ifndef JOULE_CUDA_BUILD
#define JOULE_CUDA_BUILD "not built"
#endif

Napi::Object ToJs(Napi::Env env, const info::Backend& backend) {
  Napi::Object out = Napi::Object::New(env);
  out.Set("usable", backend.usable);
  if (!backend.reason.empty()) out.Set("reason", backend.reason);
  if (!backend.path.empty()) out.Set("library", backend.path);
  return out;
}

Napi::Array StringsToJs(Napi::Env env, const std::vector<std::string>& strings) {
  Napi::Array out = Napi::Array::New(env, strings.size());
  for (size_t i = 0; i < strings.size(); ++i) out.Set(i, strings[i]);
  return out;
}

Napi::Object ReportToJs(Napi::Env env, const info::Report& report) {
  Napi::Object out = Napi::Object::New(env);
  Napi::Object nvml = ToJs(env, report.nvml);
  if (!report.driverVersion.empty()) nvml.Set("driverVersion", report.driverVersion);
  Napi::Array gpus = Napi::Array::New(env, report.gpus.size());
  for (size_t i = 0; i < report.gpus.size(); ++i) {
    const auto& gpu = report.gpus[i];
    Napi::Object g = Napi::Object::New(env);
    g.Set("index", gpu.index);
    g.Set("name", gpu.name);
    g.Set("uuid", gpu.uuid);
    g.Set("powerLimitW", gpu.powerLimitW < 0 ? env.Null() : Napi::Number::New(env, gpu.powerLimitW));
    g.Set("energyCounter", gpu.hasEnergyCounter);
    gpus.Set(i, g);
  }
  nvml.Set("gpus", gpus);
  out.Set("nvml", nvml);

  Napi::Object nccl = ToJs(env, report.nccl);
  if (!report.ncclVersion.empty()) nccl.Set("version", report.ncclVersion);
  out.Set("nccl", nccl);

  Napi::Object cuda = ToJs(env, report.cuda);
  if (!report.cudaArchs.empty()) cuda.Set("archs", report.cudaArchs);
  if (report.cudaRuntimeVersion > 0) cuda.Set("runtimeVersion", report.cudaRuntimeVersion);
  cuda.Set("devices", report.cudaDevices);
  out.Set("cuda", cuda);

  Napi::Object rapl = ToJs(env, report.rapl);
  rapl.Set("root", report.powercapRoot);
  Napi::Array domains = Napi::Array::New(env, report.raplDomains.size());
  for (size_t i = 0; i < report.raplDomains.size(); ++i) {
    const auto& domain = report.raplDomains[i];
    Napi::Object d = Napi::Object::New(env);
    d.Set("path", domain.path);
    d.Set("name", domain.name);
    if (!domain.parent.empty()) d.Set("parent", domain.parent);
    d.Set("maxEnergyRangeUj", static_cast<double>(domain.maxEnergyRangeUj));
    d.Set("readable", domain.error.empty());
    if (!domain.error.empty()) d.Set("reason", domain.error);
    domains.Set(i, d);
  }
  rapl.Set("domains", domains);
  out.Set("rapl", rapl);
  out.Set("shm", ToJs(env, report.shm));
  out.Set("tcp", ToJs(env, report.tcp));
  out.Set("simd", StringsToJs(env, report.simd));
  return out;
}

class CapabilitiesWorker : public Napi::AsyncWorker {
 public:
  CapabilitiesWorker(Napi::Env env, JouleAddon& addon)
      : Napi::AsyncWorker(env), addon_(addon), deferred_(Napi::Promise::Deferred::New(env)) {}

  Napi::Promise Promise() { return deferred_.Promise(); }

  void Execute() override {
    std::lock_guard<std::mutex> lock(addon_.librariesMutex);
    report_ = info::Collect(&addon_.libraries, addon_.addonDir);
  }
  void OnOK() override { deferred_.Resolve(ReportToJs(Env(), report_)); }
  void OnError(const Napi::Error& error) override { deferred_.Reject(error.Value()); }

 private:
  JouleAddon& addon_;
  Napi::Promise::Deferred deferred_;
  info::Report report_;
};

Napi::Value Capabilities(const Napi::CallbackInfo& info) {
  auto* worker = new CapabilitiesWorker(info.Env(), JouleAddon::Of(info.Env()));
  Napi::Promise promise = worker->Promise();
  worker->Queue();
  return promise;
}

Napi::Value BuildInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object out = Napi::Object::New(env);
  out.Set("buildSystem", JOULE_BUILD_SYSTEM);
  out.Set("napiVersion", NAPI_VERSION);
  out.Set("cudaBuild", JOULE_CUDA_BUILD);
  out.Set("addonDir", JouleAddon::Of(env).addonDir);
  return out;
}

}  // namespace

void RegisterInfo(Napi::Env env, Napi::Object exports) {
  exports.Set("capabilities", Napi::Function::New(env, Capabilities, "capabilities"));
  exports.Set("buildInfo", Napi::Function::New(env, BuildInfo, "buildInfo"));
}

}  // namespace joule
