// The NCCL types and entry points joule uses, declared here because nccl.h is not always installed.
#pragma once

#include <cstddef>

namespace joule::nccl {

using Result = int;                  // ncclResult_t
using Comm = struct CommOpaque*;     // ncclComm_t
using Stream = void*;                // cudaStream_t
struct UniqueId {                    // ncclUniqueId
  char internal[128];
};

constexpr Result kSuccess = 0;
constexpr Result kInProgress = 7;

enum DataType : int {  // ncclDataType_t
  kInt8 = 0, kUint8 = 1, kInt32 = 2, kUint32 = 3, kInt64 = 4, kUint64 = 5,
  kFloat16 = 6, kFloat32 = 7, kFloat64 = 8, kBfloat16 = 9,
};
enum RedOp : int { kSum = 0, kProd = 1, kMax = 2, kMin = 3, kAvg = 4 };  // ncclRedOp_t

struct Api {
  Result (*GetVersion)(int*) = nullptr;
  const char* (*GetErrorString)(Result) = nullptr;
  Result (*GetUniqueId)(UniqueId*) = nullptr;
  Result (*CommInitRank)(Comm*, int, UniqueId, int) = nullptr;
  Result (*CommDestroy)(Comm) = nullptr;
  Result (*CommAbort)(Comm) = nullptr;
  Result (*CommGetAsyncError)(Comm, Result*) = nullptr;
  Result (*AllReduce)(const void*, void*, size_t, DataType, RedOp, Comm, Stream) = nullptr;
  Result (*Broadcast)(const void*, void*, size_t, DataType, int, Comm, Stream) = nullptr;
  Result (*Reduce)(const void*, void*, size_t, DataType, RedOp, int, Comm, Stream) = nullptr;
  Result (*AllGather)(const void*, void*, size_t, DataType, Comm, Stream) = nullptr;
  Result (*ReduceScatter)(const void*, void*, size_t, DataType, RedOp, Comm, Stream) = nullptr;
  Result (*Send)(const void*, size_t, DataType, int, Comm, Stream) = nullptr;
  Result (*Recv)(void*, size_t, DataType, int, Comm, Stream) = nullptr;
  Result (*GroupStart)() = nullptr;
  Result (*GroupEnd)() = nullptr;
};

}  // namespace joule::nccl
