// The nccl backend: TypedArrays staged through device buffers of the CUDA module, collectives through
// the dlopen'ed NCCL on a stream of this communicator; while a collective runs, ncclCommGetAsyncError is
// polled so a NCCL failure (or an abort, or the timeout) ends it with an error instead of a hang.
#pragma once

#include <atomic>
#include <mutex>
#include <string>

#include "comm/backend.h"
#include "gpu/cuda_module.h"
#include "gpu/nccl.h"

namespace joule::comm {

struct NcclConfig {
  int rank = 0;
  int size = 1;
  int device = 0;
  nccl::UniqueId id{};
};

class NcclComm : public Backend {
 public:
  // The libraries must outlive the communicator (the addon keeps them loaded for the process).
  NcclComm(const NcclConfig& config, const nccl::Nccl& nccl, const cuda::CudaModule& cuda);
  ~NcclComm() override;
  NcclComm(const NcclComm&) = delete;
  NcclComm& operator=(const NcclComm&) = delete;

  OpResult Run(const Op& op) override;
  void Abort(const std::string& reason) override;
  int rank() const override { return rank_; }
  int size() const override { return size_; }

 private:
  void Init(const Op& op);
  void CheckHeaders(const Op& op);
  void* Device(void** buffer, size_t* capacity, size_t bytes);
  void ToDevice(void* target, const void* source, size_t bytes);
  void ToHost(void* target, const void* source, size_t bytes);
  void Check(const Op& op, const char* call, nccl::Result rc);
  void CheckCuda(const char* call, int rc);
  // Waits for the stream, polling NCCL's async error, the abort flag and the deadline.
  void Wait(const Op& op);
  [[noreturn]] void Fail(ErrorCode code, const std::string& message);
  std::string Label(const Op& op) const;

  int rank_, size_, device_;
  nccl::UniqueId id_;
  const nccl::Nccl& nccl_;
  const nccl::Api& api_;
  const cuda::Api& cuda_;
  nccl::Comm comm_ = nullptr;
  void* stream_ = nullptr;
  void *bufA_ = nullptr, *bufB_ = nullptr, *bufH_ = nullptr;
  size_t capA_ = 0, capB_ = 0, capH_ = 0;
  uint64_t seq_ = 0;
  std::atomic<bool> aborted_{false};
  std::mutex abortMutex_;
  std::string abortReason_;
  std::string broken_;
};

}  // namespace joule::comm
