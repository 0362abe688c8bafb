// The TCP backend: ranks on different nodes (or forced) exchange data over a full mesh of
// non-blocking sockets, authenticated with the communicator's token. Large reductions use a pipelined
// ring (reduce-scatter then allgather, in pieces); with a power-of-two rank count, small ones use
// recursive doubling and mid-sized ones (with 4 or more ranks) halving-doubling.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "comm/backend.h"
#include "comm/header.h"

namespace joule::comm {

struct TcpConfig {
  int rank = 0;
  int size = 1;
  std::string token;              // 32 hex digits shared through the coordinator's key-value
  size_t pieceBytes = 256 * 1024;  // ring pipeline piece
  size_t smallBytes = 64 * 1024;   // recursive doubling up to this size
  size_t halvingBytes = 2 << 20;   // then halving-doubling up to this size when 4, 8, ... ranks
  size_t aheadPieces = 1;          // ring sends allowed ahead of receives (keeps pieces cache-hot)
};

class TcpComm : public Backend {
 public:
  // Binds a listening socket on every interface, on a port the kernel picks.
  explicit TcpComm(const TcpConfig& config);
  ~TcpComm() override;
  TcpComm(const TcpComm&) = delete;
  TcpComm& operator=(const TcpComm&) = delete;

  int port() const { return port_; }
  // Where each rank listens; set once before the first operation (which connects the mesh).
  void SetPeers(std::vector<std::string> hosts, std::vector<int> ports);

  OpResult Run(const Op& op) override;
  void Abort(const std::string& reason) override;
  int rank() const override { return rank_; }
  int size() const override { return size_; }

 private:
  struct Transfer {
    int peer;
    bool send;
    unsigned char* data;
    size_t bytes;
    size_t done;
  };

  void Connect(const Op& op);
  // Moves every transfer to completion, concurrently, with the op's deadline and abort checks.
  void Progress(const Op& op, std::vector<Transfer>& transfers);
  // One non-blocking step of a transfer; false when the socket would block.
  bool Step(const Op& op, Transfer& t);
  void WaitFor(const Op& op, const std::vector<std::pair<int, short>>& wants, int64_t deadline);
  void ExchangeHeaders(const Op& op, unsigned char* frame);
  size_t EagerBytes(const OpHeader& h, int from, int to) const;
  // Allreduce and reduce of this many (wire) bytes use recursive doubling.
  bool SmallReduction(size_t stageBytes) const;

  void Allreduce(const Op& op, void* out, OpResult* result);
  void RecursiveDoubling(const Op& op, void* out, OpResult* result);
  // The ring over `segments` (one per rank): reduce-scatter steps, then allgather steps when `gather`.
  // After the reduce-scatter, rank r owns segment (r + 1 + shift) mod n.
  // Reduce-scatter by recursive halving, then allgather by recursive doubling (power-of-two sizes).
  uint64_t HalvingDoubling(const Op& op, unsigned char* out);
  // This rank's contributions are read from `own` (which may be `out`); `out` needs no initial copy:
  // every element the operation delivers is written by a reduction or a received piece.
  uint64_t Ring(const Op& op, const unsigned char* own, unsigned char* out, const std::vector<std::pair<size_t, size_t>>& segments, bool gather, int shift);
  void Broadcast(const Op& op);
  // Root -> root + 1 -> ... in pieces, each rank forwarding what it has received.
  void ChainBroadcast(const Op& op, size_t bytes);
  void Allgather(const Op& op);
  void ReduceScatter(const Op& op, OpResult* result);
  uint64_t SumCounts(const Op& op, uint64_t mine);

  void ThrowIfAborted(const Op& op);
  [[noreturn]] void Fail(ErrorCode code, const std::string& message);
  // JOULE_TIMEOUT naming the ranks this one was still waiting for.
  [[noreturn]] void FailTimeout(const Op& op, const std::vector<int>& late);
  std::string Label(const Op& op) const;

  int rank_;
  int size_;
  std::string token_;
  size_t pieceBytes_;
  size_t smallBytes_;
  size_t halvingBytes_;
  size_t aheadPieces_;
  int listenFd_ = -1;
  int port_ = 0;
  int wakeRead_ = -1, wakeWrite_ = -1;
  std::vector<std::string> hosts_;
  std::vector<int> ports_;
  std::vector<int> fds_;
  bool connected_ = false;
  uint64_t seq_ = 0;
  std::vector<unsigned char> scratch_, sendStage_, recvStage_;
  std::atomic<bool> aborted_{false};
  std::mutex abortMutex_;
  std::string abortReason_;
  std::string broken_;
};

}  // namespace joule::comm
