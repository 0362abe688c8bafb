// NCCL collectives on host TypedArrays: copy in, run on this communicator's stream, copy out.
#include "comm/nccl_comm.h"

#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "comm/futex.h"
#include "comm/header.h"

namespace joule::comm {

namespace {

constexpr int kNotReady = 600;  // cudaErrorNotReady from cudaStreamQuery

nccl::DataType NcclType(DType dtype) {
  switch (dtype) {
    case DType::F32: return nccl::kFloat32;
    case DType::F64: return nccl::kFloat64;
    case DType::I32: return nccl::kInt32;
    case DType::I64: return nccl::kInt64;
    case DType::BF16: return nccl::kBfloat16;
    case DType::F16: return nccl::kFloat16;
  }
  return nccl::kFloat32;
}

nccl::RedOp NcclOp(RedOp op) {
  switch (op) {
    case RedOp::Sum: return nccl::kSum;
    case RedOp::Prod: return nccl::kProd;
    case RedOp::Max: return nccl::kMax;
    case RedOp::Min: return nccl::kMin;
    case RedOp::Avg: return nccl::kAvg;
  }
  return nccl::kSum;
}

}  // namespace

NcclComm::NcclComm(const NcclConfig& config, const nccl::Nccl& nccl, const cuda::CudaModule& cuda)
    : rank_(config.rank), size_(config.size), device_(config.device), id_(config.id), nccl_(nccl), api_(nccl.api()),
      cuda_(cuda.api()) {}

NcclComm::~NcclComm() {
  if (comm_ != nullptr) api_.CommDestroy(comm_);
  for (void* buffer : {bufA_, bufB_, bufH_}) {
    if (buffer != nullptr) cuda_.Free(buffer);
  }
  if (stream_ != nullptr) cuda_.StreamDestroy(stream_);
}

void NcclComm::Abort(const std::string& reason) {
  {
    std::lock_guard<std::mutex> lock(abortMutex_);
    if (abortReason_.empty()) abortReason_ = reason;
  }
  aborted_.store(true);
}

std::string NcclComm::Label(const Op& op) const { return std::string(KindName(op.kind)) + " #" + std::to_string(seq_); }

void NcclComm::Fail(ErrorCode code, const std::string& message) {
  if (code != ErrorCode::CollectiveMismatch && code != ErrorCode::BadArgument) broken_ = message;
  throw CommError(code, message);
}

void NcclComm::CheckCuda(const char* call, int rc) {
  if (rc != 0) Fail(ErrorCode::NativeError, std::string("nccl: ") + call + " failed on rank " + std::to_string(rank_) + ": CUDA error " + std::to_string(rc) + ": " + cuda_.ErrorString(rc));
}

void NcclComm::Check(const Op& op, const char* call, nccl::Result rc) {
  if (rc == nccl::kSuccess || rc == nccl::kInProgress) return;
  Fail(ErrorCode::NativeError, "nccl: " + Label(op) + " on rank " + std::to_string(rank_) + ": " + nccl_.Describe(call, rc));
}

void* NcclComm::Device(void** buffer, size_t* capacity, size_t bytes) {
  if (bytes > *capacity) {
    if (*buffer != nullptr) cuda_.Free(*buffer);
    *buffer = nullptr;
    *capacity = 0;
    CheckCuda("cudaMalloc", cuda_.Malloc(buffer, bytes));
    *capacity = bytes;
  }
  return *buffer;
}

void NcclComm::ToDevice(void* target, const void* source, size_t bytes) {
  if (bytes > 0) CheckCuda("cudaMemcpyAsync (host to device)", cuda_.MemcpyAsync(target, source, bytes, 1, stream_));
}

void NcclComm::ToHost(void* target, const void* source, size_t bytes) {
  if (bytes == 0) return;
  CheckCuda("cudaMemcpyAsync (device to host)", cuda_.MemcpyAsync(target, source, bytes, 2, stream_));
  CheckCuda("cudaStreamSynchronize", cuda_.StreamSynchronize(stream_));
}

void NcclComm::Wait(const Op& op) {
  const int64_t deadline = NowNs() + static_cast<int64_t>(op.timeoutS * 1e9);
  for (int round = 0;; ++round) {
    const int rc = cuda_.StreamQuery(stream_);
    if (rc == 0) return;
    if (rc != kNotReady) CheckCuda("cudaStreamQuery", rc);
    nccl::Result async = nccl::kSuccess;
    nccl::Result polled = api_.CommGetAsyncError(comm_, &async);
    if (polled == nccl::kSuccess && async != nccl::kSuccess && async != nccl::kInProgress) {
      api_.CommAbort(comm_);
      comm_ = nullptr;
      Fail(ErrorCode::NativeError, "nccl: " + Label(op) + " on rank " + std::to_string(rank_) + ": " + nccl_.Describe("ncclCommGetAsyncError", async));
    }
    if (aborted_.load()) {
      std::string reason;
      {
        std::lock_guard<std::mutex> lock(abortMutex_);
        reason = abortReason_;
      }
      api_.CommAbort(comm_);
      comm_ = nullptr;
      Fail(ErrorCode::Aborted, "nccl: " + Label(op) + " on rank " + std::to_string(rank_) + " aborted: " + reason);
    }
    if (NowNs() >= deadline) {
      api_.CommAbort(comm_);
      comm_ = nullptr;
      Fail(ErrorCode::Timeout, "nccl: " + Label(op) + " timed out after " + std::to_string(op.timeoutS) + " s on rank " + std::to_string(rank_) +
                                " (NCCL cannot say which ranks are missing; the communicator was aborted)");
    }
    // Poll quickly at first (small collectives finish in microseconds), then gently.
    if (round < 1000) sched_yield();
    else usleep(200);
  }
}

void NcclComm::Init(const Op& op) {
  CheckCuda("cudaSetDevice", cuda_.SetDevice(device_));
  CheckCuda("cudaStreamCreate", cuda_.StreamCreate(&stream_));
  // ncclCommInitRank blocks until every rank has called it: this is the communicator thread.
  Check(op, "ncclCommInitRank", api_.CommInitRank(&comm_, size_, id_, rank_));
}

// NCCL does not compare what ranks pass: gather every rank's header first, so a mismatch fails every
// rank with the same text instead of corrupting data or hanging.
void NcclComm::CheckHeaders(const Op& op) {
  const size_t hb = sizeof(OpHeader);
  auto* all = static_cast<unsigned char*>(Device(&bufH_, &capH_, hb * size_));
  OpHeader mine = HeaderOf(op, seq_);
  ToDevice(all + rank_ * hb, &mine, hb);
  Check(op, "ncclAllGather", api_.AllGather(all + rank_ * hb, all, hb, nccl::kUint8, comm_, stream_));
  Wait(op);
  std::vector<OpHeader> headers(size_);
  ToHost(headers.data(), all, hb * size_);
  std::string text = MismatchText(headers);
  if (!text.empty()) {
    const uint64_t seq = seq_++;
    Fail(ErrorCode::CollectiveMismatch, "nccl: collective mismatch at operation #" + std::to_string(seq) + " (seen on rank " + std::to_string(rank_) + "): " + text);
  }
}

OpResult NcclComm::Run(const Op& op) {
  if (!broken_.empty()) throw CommError(ErrorCode::Aborted, "nccl: the communicator cannot be used after an earlier failure: " + broken_);
  if (op.wire != Wire::None) Fail(ErrorCode::BadArgument, "nccl: a wire precision is not supported by the nccl backend (reduce in bf16/f16 buffers instead)");
  // ncclAvg always divides by the communicator's size.
  if (op.redop == RedOp::Avg && AvgDivisorOf(op, size_) != size_) Fail(ErrorCode::BadArgument, "nccl: avg with a divisor other than the communicator's size is not supported");
  if (comm_ == nullptr) Init(op);
  OpResult result;
  const size_t eb = DTypeBytes(op.dtype);
  const size_t n = static_cast<size_t>(size_);
  const nccl::DataType type = NcclType(op.dtype);
  if (op.kind == Kind::Send) {
    void* a = Device(&bufA_, &capA_, op.count * eb);
    ToDevice(a, op.in, op.count * eb);
    Check(op, "ncclSend", api_.Send(a, op.count, type, op.root, comm_, stream_));
    Wait(op);
    return result;
  }
  if (op.kind == Kind::Recv) {
    void* b = Device(&bufB_, &capB_, op.count * eb);
    Check(op, "ncclRecv", api_.Recv(b, op.count, type, op.root, comm_, stream_));
    Wait(op);
    ToHost(op.out, b, op.count * eb);
    return result;
  }
  CheckHeaders(op);
  switch (op.kind) {
    case Kind::Barrier: break;
    case Kind::Allreduce:
    case Kind::Reduce:
    case Kind::Broadcast: {
      void* a = Device(&bufA_, &capA_, op.count * eb);
      const bool sendsData = op.kind != Kind::Broadcast || rank_ == op.root;
      if (sendsData) ToDevice(a, op.in, op.count * eb);
      if (op.kind == Kind::Allreduce) Check(op, "ncclAllReduce", api_.AllReduce(a, a, op.count, type, NcclOp(op.redop), comm_, stream_));
      else if (op.kind == Kind::Reduce) Check(op, "ncclReduce", api_.Reduce(a, a, op.count, type, NcclOp(op.redop), op.root, comm_, stream_));
      else Check(op, "ncclBroadcast", api_.Broadcast(a, a, op.count, type, op.root, comm_, stream_));
      Wait(op);
      if (op.kind != Kind::Reduce || rank_ == op.root) ToHost(op.out, a, op.count * eb);
      break;
    }
    case Kind::Allgather: {
      auto* b = static_cast<unsigned char*>(Device(&bufB_, &capB_, op.count * n * eb));
      ToDevice(b + rank_ * op.count * eb, op.in, op.count * eb);
      Check(op, "ncclAllGather", api_.AllGather(b + rank_ * op.count * eb, b, op.count, type, comm_, stream_));
      Wait(op);
      ToHost(op.out, b, op.count * n * eb);
      break;
    }
    case Kind::ReduceScatter: {
      auto* a = static_cast<unsigned char*>(Device(&bufA_, &capA_, op.count * n * eb));
      ToDevice(a, op.in, op.count * n * eb);
      Check(op, "ncclReduceScatter", api_.ReduceScatter(a, a + rank_ * op.count * eb, op.count, type, NcclOp(op.redop), comm_, stream_));
      Wait(op);
      ToHost(op.out, a + rank_ * op.count * eb, op.count * eb);
      break;
    }
    default: Fail(ErrorCode::BadArgument, "nccl: unknown operation");
  }
  ++seq_;
  return result;
}

}  // namespace joule::comm
