// N-API glue for CPU affinity: the CPUs this process may use, and binding all its threads to some of them.
#include "addon.h"
#include "errors.h"
#include "cpu/affinity.h"

namespace joule {
namespace {

Napi::Value AllowedCpus(const Napi::CallbackInfo& info) {
  const std::vector<int> cpus = cpu::AllowedCpus();
  Napi::Array out = Napi::Array::New(info.Env(), cpus.size());
  for (size_t i = 0; i < cpus.size(); ++i) out.Set(i, cpus[i]);
  return out;
}

Napi::Value BindProcess(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() != 1 || !info[0].IsArray()) {
    Napi::Error error = Napi::TypeError::New(env, "bindProcess(cpus): cpus must be an array of CPU numbers");
    error.Set("code", CodeName(ErrorCode::BadArgument));
    throw error;
  }
  Napi::Array list = info[0].As<Napi::Array>();
  std::vector<int> cpus;
  for (uint32_t i = 0; i < list.Length(); ++i) cpus.push_back(list.Get(i).As<Napi::Number>().Int32Value());
  try {
    return Napi::Number::New(env, cpu::BindProcess(cpus));
  } catch (const std::exception& failure) {
    Napi::Error error = Napi::Error::New(env, std::string("CPU binding failed: ") + failure.what());
    error.Set("code", CodeName(ErrorCode::NativeError));
    throw error;
  }
}

}  // namespace

void RegisterCpu(Napi::Env env, Napi::Object exports) {
  exports.Set("allowedCpus", Napi::Function::New(env, AllowedCpus, "allowedCpus"));
  exports.Set("bindProcess", Napi::Function::New(env, BindProcess, "bindProcess"));
}

}  // namespace joule
