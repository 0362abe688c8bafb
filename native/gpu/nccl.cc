// NCCL loader: dlopen, per-symbol binding, version.
#include "gpu/nccl.h"

#include "dl/join.h"

namespace joule::nccl {

bool Nccl::Load() {
  if (attempted_) return usable_;
  attempted_ = true;
  if (!library_.Open(dl::Candidates("JOULE_NCCL_LIBRARY", {"libnccl.so.2", "libnccl.so"}))) {
    reason_ = "not found: " + library_.error();
    return false;
  }
  library_.Bind(api_.GetVersion, "ncclGetVersion");
  library_.Bind(api_.GetErrorString, "ncclGetErrorString");
  library_.Bind(api_.GetUniqueId, "ncclGetUniqueId");
  library_.Bind(api_.CommInitRank, "ncclCommInitRank");
  library_.Bind(api_.CommDestroy, "ncclCommDestroy");
  library_.Bind(api_.CommAbort, "ncclCommAbort");
  library_.Bind(api_.CommGetAsyncError, "ncclCommGetAsyncError");
  library_.Bind(api_.AllReduce, "ncclAllReduce");
  library_.Bind(api_.Broadcast, "ncclBroadcast");
  library_.Bind(api_.Reduce, "ncclReduce");
  library_.Bind(api_.AllGather, "ncclAllGather");
  library_.Bind(api_.ReduceScatter, "ncclReduceScatter");
  library_.Bind(api_.Send, "ncclSend");
  library_.Bind(api_.Recv, "ncclRecv");
  library_.Bind(api_.GroupStart, "ncclGroupStart");
  library_.Bind(api_.GroupEnd, "ncclGroupEnd");
  if (!library_.missing().empty()) {
    reason_ = "symbol missing in " + library_.path() + ": " + dl::Join(library_.missing(), ", ");
    return false;
  }
  int code = 0;
  Result rc = api_.GetVersion(&code);
  if (rc != kSuccess) {
    reason_ = Describe("ncclGetVersion", rc);
    return false;
  }
  // Since NCCL 2.9 the code is major*10000 + minor*100 + patch; before it, major*1000 + minor*100 + patch.
  int major = code >= 10000 ? code / 10000 : code / 1000;
  int minor = code >= 10000 ? (code % 10000) / 100 : (code % 1000) / 100;
  version_ = std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(code % 100);
  usable_ = true;
  return true;
}

std::string Nccl::Describe(const char* call, Result code) const {
  const char* text = api_.GetErrorString != nullptr ? api_.GetErrorString(code) : nullptr;
  return std::string(call) + " failed: error " + std::to_string(code) + ": " +
         (text != nullptr ? text : "unknown");
}

}  // namespace joule::nccl
