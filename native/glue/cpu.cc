// N-API glue for CPU affinity: the CPUs this process may use, and binding all its threads to some of them.
#include "addon.h"
#include "errors.h"
#include "glue/args.h"
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
  Napi::Array list = glue::ArrayOf(env, glue::Arg(info, 0), "bindProcess(cpus)");
  std::vector<int> cpus;
  for (uint32_t i = 0; i < list.Length(); ++i) cpus.push_back(static_cast<int>(glue::IntegerOf(env, list.Get(i), "bindProcess(cpus)[" + std::to_string(i) + "]", 0, 1 << 20)));
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
