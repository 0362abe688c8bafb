// The addon instance: per-environment state shared by the glue files (no globals, so worker threads
// that load the addon get their own).
#pragma once

#include <napi.h>

#include <mutex>
#include <string>

#include "info/report.h"

namespace joule {

class JouleAddon : public Napi::Addon<JouleAddon> {
 public:
  JouleAddon(Napi::Env env, Napi::Object exports);

  static JouleAddon& Of(Napi::Env env) { return *env.GetInstanceData<JouleAddon>(); }

  // Library loading happens on worker threads; the mutex serialises it.
  std::mutex librariesMutex;
  info::Libraries libraries;
  std::string addonDir;

  // The CUDA module's API, loading it on first use (under the mutex); null with `reason` when unusable.
  const cuda::Api* CudaApi(std::string* reason);
};

// Each glue file adds its module's functions to `exports`.
void RegisterInfo(Napi::Env env, Napi::Object exports);
void RegisterCast(Napi::Env env, Napi::Object exports);
void RegisterPower(Napi::Env env, Napi::Object exports);
void RegisterComm(Napi::Env env, Napi::Object exports);
void RegisterCpu(Napi::Env env, Napi::Object exports);
void RegisterTrain(Napi::Env env, Napi::Object exports);

}  // namespace joule
