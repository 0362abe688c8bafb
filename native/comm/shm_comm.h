// The shared-memory backend: ranks on one node exchange data through one POSIX shared-memory segment
// per communicator. Large reductions are reduce-scatter + allgather (each rank reduces its slice reading
// its peers' stage buffers directly), chunked and double-buffered; small ones take one synchronisation.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "comm/backend.h"

namespace joule::comm {

struct ShmConfig {
  int rank = 0;
  int size = 1;
  std::string name;  // the segment's name, "/joule.<job>.<comm>.<nonce>"
  size_t chunkBytes = 256 * 1024;   // per rank, per stage half
  size_t smallBytes = 32 * 1024;    // reductions up to this size take the one-step path
  size_t p2pBytes = 256 * 1024;     // per send/recv channel half
  bool create = false;              // rank 0 creates the segment; the others attach
};

struct SegmentHeader;
struct RankSlot;
struct Channel;

class ShmComm : public Backend {
 public:
  explicit ShmComm(const ShmConfig& config);
  ~ShmComm() override;
  ShmComm(const ShmComm&) = delete;
  ShmComm& operator=(const ShmComm&) = delete;

  OpResult Run(const Op& op) override;
  void Abort(const std::string& reason) override;
  int rank() const override { return rank_; }
  int size() const override { return size_; }
  // Removes the segment's name once every rank has mapped it (after the first collective).
  void Unlink();

 private:
  struct Pending { const std::atomic<uint32_t>* word; uint32_t seen; int rank; };

  void Allreduce(const Op& op, bool gatherAll, OpResult* result);
  void SmallReduce(const Op& op, bool everyone, OpResult* result);
  void Broadcast(const Op& op);
  void Allgather(const Op& op);
  void ReduceScatter(const Op& op, OpResult* result);
  void Send(const Op& op);
  void Recv(const Op& op);

  // Publishes this rank's next step, then waits until every rank has published it.
  void PostAndWaitAll(const Op& op);
  void Post();
  void WaitAll(const Op& op);
  // The first synchronisation of an operation: every rank compares every rank's header.
  void WriteHeader(const Op& op);
  void CheckHeaders();
  uint64_t SumOverflows();
  void PublishOverflows(uint64_t mine);

  // Waits (spin, then yield, then futex sleep) until ready() holds; `describe` names who is late.
  template <typename Ready, typename Describe>
  void WaitUntil(const Op& op, Ready ready, Describe describe);
  void ThrowIfAborted(const Op& op);
  [[noreturn]] void Fail(const Op& op, ErrorCode code, const std::string& message);
  std::string OpLabel(const Op& op) const;

  unsigned char* Stage(int rank, int half) const;
  unsigned char* ChannelData(int src, int dst, int half) const;
  Channel* ChannelOf(int src, int dst) const;

  int rank_;
  int size_;
  std::string name_;
  size_t chunkBytes_;
  size_t smallBytes_;
  size_t p2pBytes_;
  bool linked_ = false;
  void* base_ = nullptr;
  size_t mappedBytes_ = 0;
  SegmentHeader* header_ = nullptr;
  RankSlot* slots_ = nullptr;
  unsigned char* stages_ = nullptr;
  unsigned char* channelData_ = nullptr;
  Channel* channels_ = nullptr;

  int spinRounds_ = 8000;  // adaptive, see WaitUntil
  uint32_t step_ = 0;     // this rank's published step count
  uint64_t seq_ = 0;      // collectives started (all ranks agree)
  uint64_t uses_ = 0;     // stage-buffer uses: the half for the next use is uses_ % 2
  std::vector<uint32_t> sendChunks_;  // per peer: chunks sent on channel (rank -> peer)
  std::vector<uint32_t> recvChunks_;  // per peer: chunks received on channel (peer -> rank)
  std::atomic<bool> aborted_{false};
  std::string abortReason_;
  std::string broken_;  // set after a timeout or abort: the communicator cannot continue
};

}  // namespace joule::comm
