// N-API entry point: creates the addon instance and lets each module's glue register its exports.
#include "addon.h"

#include <dlfcn.h>

#include "version.h"

namespace joule {
namespace {

std::string DirectoryOfThisLibrary() {
  Dl_info info{};
  if (dladdr(reinterpret_cast<void*>(&DirectoryOfThisLibrary), &info) == 0 || info.dli_fname == nullptr) {
    return ".";
  }
  std::string path = info.dli_fname;
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? "." : path.substr(0, slash);
}

}  // namespace

JouleAddon::JouleAddon(Napi::Env env, Napi::Object exports) : addonDir(DirectoryOfThisLibrary()) {
  exports.Set("addonVersion", Napi::String::New(env, JOULE_ADDON_VERSION));
  RegisterInfo(env, exports);
  RegisterCast(env, exports);
  RegisterPower(env, exports);
  RegisterComm(env, exports);
  RegisterCpu(env, exports);
  RegisterTrain(env, exports);
}

const cuda::Api* JouleAddon::CudaApi(std::string* reason) {
  std::lock_guard<std::mutex> lock(librariesMutex);
  if (libraries.cuda.Load(addonDir)) return &libraries.cuda.api();
  *reason = libraries.cuda.reason();
  return nullptr;
}

}  // namespace joule

using joule::JouleAddon;
NODE_API_ADDON(JouleAddon)
