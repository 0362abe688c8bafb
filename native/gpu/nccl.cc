// NCCL loader: dlopen, per-symbol binding, version.
#include "gpu/nccl.h"

namespace joule::nccl {

bool Nccl::Load() {
  return LoadOnce("JOULE_NCCL_LIBRARY", {"libnccl.so.2", "libnccl.so"}, "not found: ");
}

void Nccl::BindSymbols(dl::Library& library) {
  library.Bind(api_.GetVersion, "ncclGetVersion");
  library.Bind(api_.GetErrorString, "ncclGetErrorString");
  library.Bind(api_.GetUniqueId, "ncclGetUniqueId");
  library.Bind(api_.CommInitRank, "ncclCommInitRank");
  library.Bind(api_.CommDestroy, "ncclCommDestroy");
  library.Bind(api_.CommAbort, "ncclCommAbort");
  library.Bind(api_.CommGetAsyncError, "ncclCommGetAsyncError");
  library.Bind(api_.AllReduce, "ncclAllReduce");
  library.Bind(api_.Broadcast, "ncclBroadcast");
  library.Bind(api_.Reduce, "ncclReduce");
  library.Bind(api_.AllGather, "ncclAllGather");
  library.Bind(api_.ReduceScatter, "ncclReduceScatter");
  library.Bind(api_.Send, "ncclSend");
  library.Bind(api_.Recv, "ncclRecv");
  library.Bind(api_.GroupStart, "ncclGroupStart");
  library.Bind(api_.GroupEnd, "ncclGroupEnd");
}

bool Nccl::Start() {
  int code = 0;
  Result rc = api_.GetVersion(&code);
  if (rc != kSuccess) {
    return Fail(Describe("ncclGetVersion", rc));
  }
  // Since NCCL 2.9 the code is major*10000 + minor*100 + patch; before it, major*1000 + minor*100 + patch.
  int major = code >= 10000 ? code / 10000 : code / 1000;
  int minor = code >= 10000 ? (code % 10000) / 100 : (code % 1000) / 100;
  version_ = std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(code % 100);
  return true;
}

std::string Nccl::Describe(const char* call, Result code) const {
  const char* text = api_.GetErrorString != nullptr ? api_.GetErrorString(code) : nullptr;
  return std::string(call) + " failed: error " + std::to_string(code) + ": " +
         (text != nullptr ? text : "unknown");
}

}  // namespace joule::nccl
