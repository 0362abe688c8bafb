// Shared-memory collectives. Memory ordering: a rank writes its stage data, then publishes its step
// counter with release; readers acquire the counter before touching the data. Stage halves alternate
// per use, and every use starts with an all-rank synchronisation, so a half is only rewritten after
// every peer has finished reading it (see the note on Allreduce).
#include "comm/shm_comm.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <map>
#include <mutex>
#include <sstream>

#include "comm/futex.h"
#include "comm/header.h"
#include "comm/reduce.h"

namespace joule::comm {

namespace {
constexpr uint64_t kMagic = 0x6A6F756C65736D31ull;  // "joulesm1"
constexpr size_t kAlign = 4096;
// Spin up to spinRounds_ rounds (adapted between these bounds), then yield until kYieldNs have passed,
// then sleep on the futex in slices. On a busy node a peer is often descheduled: spinning then only
// burns the core it needs, so waits that had to sleep shrink the spin and waits met while spinning grow it.
constexpr int kMinSpinRounds = 64;
constexpr int kMaxSpinRounds = 8000;
constexpr int64_t kYieldNs = 100 * 1000;
constexpr int64_t kSleepSliceNs = 20 * 1000 * 1000;

size_t RoundUp(size_t value, size_t to) { return (value + to - 1) / to * to; }

// [begin, end) of slice `index` when `count` elements are split in `parts`, in multiples of 16
// elements so slices start on cache lines.
void SliceOf(size_t count, int parts, int index, size_t* begin, size_t* end) {
  size_t per = RoundUp((count + parts - 1) / parts, 16);
  *begin = std::min(count, per * index);
  *end = std::min(count, *begin + per);
}

std::mutex abortMutex;  // guards ShmComm::abortReason_ (written by JS's thread, read by the comm thread)

}  // namespace

struct SegmentHeader {
  std::atomic<uint64_t> magic;
  uint32_t ranks;
  uint32_t pad;
  uint64_t chunkBytes, p2pBytes;
  std::atomic<uint32_t> waiters;  // sleepers on any futex word; posters wake only when non-zero
  std::atomic<uint32_t> aborted;  // 1 + the rank that aborted, or 0
  char abortReason[256];
};

struct alignas(128) RankSlot {
  std::atomic<uint32_t> step;
  OpHeader header[2];
  uint64_t overflows[2];
};

struct alignas(128) Channel {
  std::atomic<uint32_t> sent;
  std::atomic<uint32_t> acked;
  std::atomic<uint32_t> error;
  // The header of the message whose first chunk is in half h: a sender may run a message ahead of the
  // receiver (eager sends), so one header per channel would be overwritten before it was read.
  OpHeader header[2];
  char errorText[256];
};

ShmComm::ShmComm(const ShmConfig& config)
    : rank_(config.rank), size_(config.size), name_(config.name), chunkBytes_(RoundUp(config.chunkBytes, 4096)),
      smallBytes_(std::min(config.smallBytes, config.chunkBytes)), p2pBytes_(RoundUp(config.p2pBytes, 4096)),
      sendChunks_(config.size, 0), recvChunks_(config.size, 0) {
  const size_t n = static_cast<size_t>(size_);
  const size_t headerBytes = RoundUp(sizeof(SegmentHeader), kAlign);
  const size_t slotBytes = RoundUp(sizeof(RankSlot) * n, kAlign);
  const size_t channelBytes = RoundUp(sizeof(Channel) * n * n, kAlign);
  const size_t stageBytes = n * 2 * chunkBytes_;
  const size_t p2pBytes = n * n * 2 * p2pBytes_;
  mappedBytes_ = headerBytes + slotBytes + channelBytes + stageBytes + p2pBytes;

  int fd = config.create ? shm_open(name_.c_str(), O_CREAT | O_EXCL | O_RDWR, 0600) : shm_open(name_.c_str(), O_RDWR, 0);
  if (fd < 0) {
    throw CommError(ErrorCode::BackendUnavailable, std::string("shm: cannot ") + (config.create ? "create" : "open") +
                                                     " shared memory " + name_ + ": " + std::strerror(errno));
  }
  if (config.create && ftruncate(fd, static_cast<off_t>(mappedBytes_)) != 0) {
    int error = errno;
    close(fd);
    shm_unlink(name_.c_str());
    throw CommError(ErrorCode::BackendUnavailable, "shm: cannot size " + name_ + ": " + std::strerror(error));
  }
  if (!config.create) {
    struct stat st{};
    if (fstat(fd, &st) != 0 || static_cast<size_t>(st.st_size) != mappedBytes_) {
      close(fd);
      throw CommError(ErrorCode::BackendUnavailable, "shm: segment " + name_ + " has the wrong size (ranks disagree on the layout)");
    }
  }
  base_ = mmap(nullptr, mappedBytes_, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  int error = errno;
  close(fd);
  if (base_ == MAP_FAILED) {
    base_ = nullptr;
    if (config.create) shm_unlink(name_.c_str());
    throw CommError(ErrorCode::BackendUnavailable, "shm: cannot map " + name_ + ": " + std::strerror(error));
  }
  linked_ = config.create;
  auto* bytes = static_cast<unsigned char*>(base_);
  header_ = reinterpret_cast<SegmentHeader*>(bytes);
  slots_ = reinterpret_cast<RankSlot*>(bytes + headerBytes);
  channels_ = reinterpret_cast<Channel*>(bytes + headerBytes + slotBytes);
  stages_ = bytes + headerBytes + slotBytes + channelBytes;
  channelData_ = stages_ + stageBytes;
  if (config.create) {
    // ftruncate zero-fills, so counters start at 0; the magic is published last.
    header_->ranks = static_cast<uint32_t>(size_);
    header_->chunkBytes = chunkBytes_;
    header_->p2pBytes = p2pBytes_;
    header_->magic.store(kMagic, std::memory_order_release);
  } else if (header_->magic.load(std::memory_order_acquire) != kMagic || header_->ranks != static_cast<uint32_t>(size_) ||
             header_->chunkBytes != chunkBytes_) {
    munmap(base_, mappedBytes_);
    base_ = nullptr;
    throw CommError(ErrorCode::BackendUnavailable, "shm: segment " + name_ + " was created for another layout");
  }
}

ShmComm::~ShmComm() {
  Unlink();
  if (base_ != nullptr) munmap(base_, mappedBytes_);
}

void ShmComm::Unlink() {
  if (linked_) {
    shm_unlink(name_.c_str());
    linked_ = false;
  }
}

unsigned char* ShmComm::Stage(int rank, int half) const {
  return stages_ + (static_cast<size_t>(rank) * 2 + half) * chunkBytes_;
}
Channel* ShmComm::ChannelOf(int src, int dst) const { return &channels_[src * size_ + dst]; }
unsigned char* ShmComm::ChannelData(int src, int dst, int half) const {
  return channelData_ + ((static_cast<size_t>(src) * size_ + dst) * 2 + half) * p2pBytes_;
}

void ShmComm::Abort(const std::string& reason) {
  {
    std::lock_guard<std::mutex> lock(abortMutex);
    if (abortReason_.empty()) abortReason_ = reason;
  }
  aborted_.store(true, std::memory_order_seq_cst);
  uint32_t expected = 0;
  if (header_->aborted.compare_exchange_strong(expected, static_cast<uint32_t>(rank_) + 1)) {
    std::snprintf(header_->abortReason, sizeof header_->abortReason, "%s", reason.c_str());
  }
  // Wake every sleeper on every word so each rank's communicator thread sees the abort now.
  for (int r = 0; r < size_; ++r) FutexWakeAll(&slots_[r].step);
  for (int i = 0; i < size_ * size_; ++i) {
    FutexWakeAll(&channels_[i].sent);
    FutexWakeAll(&channels_[i].acked);
  }
}

std::string ShmComm::OpLabel(const Op& op) const {
  std::ostringstream out;
  out << KindName(op.kind) << " #" << seq_;
  return out.str();
}

void ShmComm::Fail(const Op& op, ErrorCode code, const std::string& message) {
  if (code == ErrorCode::Timeout || code == ErrorCode::Aborted) broken_ = message;
  (void)op;
  throw CommError(code, message);
}

void ShmComm::ThrowIfAborted(const Op& op) {
  if (aborted_.load(std::memory_order_relaxed)) {
    std::string reason;
    {
      std::lock_guard<std::mutex> lock(abortMutex);
      reason = abortReason_;
    }
    Fail(op, ErrorCode::Aborted, "shm: " + OpLabel(op) + " on rank " + std::to_string(rank_) + " aborted: " + reason);
  }
  uint32_t by = header_->aborted.load(std::memory_order_acquire);
  if (by != 0) {
    Fail(op, ErrorCode::Aborted, "shm: " + OpLabel(op) + " on rank " + std::to_string(rank_) + " aborted by rank " +
                                  std::to_string(by - 1) + ": " + std::string(header_->abortReason));
  }
}

template <typename Ready, typename Describe>
void ShmComm::WaitUntil(const Op& op, Ready ready, Describe describe) {
  Pending pending{};
  if (ready(&pending)) return;
  const int64_t start = NowNs();
  const int64_t deadline = start + static_cast<int64_t>(op.timeoutS * 1e9);
  for (int round = 0;; ++round) {
    if (ready(&pending)) {
      if (round < spinRounds_) spinRounds_ = std::min(kMaxSpinRounds, spinRounds_ + spinRounds_ / 8 + 16);
      return;
    }
    if (round < spinRounds_) {
      CpuRelax();
      continue;
    }
    if (round == spinRounds_) spinRounds_ = std::max(kMinSpinRounds, spinRounds_ / 2);
    ThrowIfAborted(op);
    const int64_t now = NowNs();
    if (now >= deadline) {
      std::ostringstream out;
      out << "shm: " << OpLabel(op) << " timed out after " << op.timeoutS << " s on rank " << rank_ << ": " << describe();
      Fail(op, ErrorCode::Timeout, out.str());
    }
    if (now - start < kYieldNs) {
      sched_yield();
      continue;
    }
    header_->waiters.fetch_add(1, std::memory_order_seq_cst);
    if (pending.word->load(std::memory_order_seq_cst) == pending.seen) {
      FutexWait(pending.word, pending.seen, std::min(kSleepSliceNs, deadline - now));
    }
    header_->waiters.fetch_sub(1, std::memory_order_seq_cst);
  }
}

void ShmComm::Post() {
  ++step_;
  slots_[rank_].step.store(step_, std::memory_order_seq_cst);
  if (header_->waiters.load(std::memory_order_seq_cst) != 0) FutexWakeAll(&slots_[rank_].step);
}

void ShmComm::WaitAll(const Op& op) {
  const uint32_t target = step_;
  WaitUntil(op, [&](Pending* pending) {
    for (int r = 0; r < size_; ++r) {
      uint32_t seen = slots_[r].step.load(std::memory_order_acquire);
      if (static_cast<int32_t>(seen - target) < 0) {
        *pending = Pending{&slots_[r].step, seen, r};
        return false;
      }
    }
    return true;
  }, [&]() {
    std::vector<int> late;
    for (int r = 0; r < size_; ++r) {
      if (static_cast<int32_t>(slots_[r].step.load(std::memory_order_acquire) - target) < 0) late.push_back(r);
    }
    return RankList(late) + " did not arrive";
  });
}

void ShmComm::PostAndWaitAll(const Op& op) {
  Post();
  WaitAll(op);
}

void ShmComm::WriteHeader(const Op& op) { slots_[rank_].header[seq_ & 1] = HeaderOf(op, seq_); }

void ShmComm::CheckHeaders() {
  const OpHeader& mine = slots_[rank_].header[seq_ & 1];
  bool same = true;
  for (int r = 0; r < size_ && same; ++r) same = SameHeader(slots_[r].header[seq_ & 1], mine);
  if (same) return;
  std::vector<OpHeader> headers;
  for (int r = 0; r < size_; ++r) headers.push_back(slots_[r].header[seq_ & 1]);
  std::ostringstream out;
  out << "shm: collective mismatch at operation #" << seq_ << " (seen on rank " << rank_ << "): " << MismatchText(headers);
  ++seq_;
  throw CommError(ErrorCode::CollectiveMismatch, out.str());
}

void ShmComm::PublishOverflows(uint64_t mine) { slots_[rank_].overflows[seq_ & 1] = mine; }

uint64_t ShmComm::SumOverflows() {
  uint64_t total = 0;
  for (int r = 0; r < size_; ++r) total += slots_[r].overflows[seq_ & 1];
  return total;
}

OpResult ShmComm::Run(const Op& op) {
  if (!broken_.empty()) {
    throw CommError(ErrorCode::Aborted, "shm: the communicator cannot be used after an earlier failure: " + broken_);
  }
  ThrowIfAborted(op);
  OpResult result;
  if (op.kind == Kind::Send) {
    Send(op);
    return result;
  }
  if (op.kind == Kind::Recv) {
    Recv(op);
    return result;
  }
  const size_t bytes = op.count * DTypeBytes(StageType(op.dtype, op.wire));
  switch (op.kind) {
    case Kind::Barrier:
      ++uses_;  // every collective takes one stage use before its first synchronisation
      WriteHeader(op);
      PostAndWaitAll(op);
      CheckHeaders();
      break;
    case Kind::Allreduce:
    case Kind::Reduce:
      if (bytes <= smallBytes_) SmallReduce(op, op.kind == Kind::Allreduce, &result);
      else Allreduce(op, op.kind == Kind::Allreduce, &result);
      break;
    case Kind::Broadcast: Broadcast(op); break;
    case Kind::Allgather: Allgather(op); break;
    case Kind::ReduceScatter: ReduceScatter(op, &result); break;
    default: throw CommError(ErrorCode::BadArgument, "shm: unknown operation");
  }
  ++seq_;
  return result;
}

// One step: every rank copies its whole input into its stage; every rank that needs the result
// reduces all stages in rank order, so all ranks compute the same bits.
void ShmComm::SmallReduce(const Op& op, bool everyone, OpResult* result) {
  const DType stage = StageType(op.dtype, op.wire);
  const int half = static_cast<int>(uses_++ & 1);
  WriteHeader(op);
  uint64_t overflows = ConvertCopy(op.dtype, stage, op.in, Stage(rank_, half), op.count);
  PublishOverflows(overflows);
  PostAndWaitAll(op);
  CheckHeaders();
  std::vector<const void*> stages(size_);
  for (int r = 0; r < size_; ++r) stages[r] = Stage(r, half);
  uint64_t reduced = 0;
  if (everyone || rank_ == op.root) {
    reduced = Reduce(op.dtype, op.wire, op.redop, AvgDivisorOf(op, size_), nullptr, stages.data(), size_, op.count, nullptr, op.out);
  }
  // Every rank computes the same reduction in allreduce; count it once.
  result->wireOverflows = SumOverflows() + reduced;
}

// Chunk by chunk: copy the slices other ranks reduce into my stage (post A), reduce my slice from my
// own input and every peer's stage into my stage and output (post B), then copy every peer's reduced
// slice out. A stage half is rewritten two chunks later, after a synchronisation (A of the next chunk)
// that every peer reaches only when done reading it.
void ShmComm::Allreduce(const Op& op, bool gatherAll, OpResult* result) {
  const DType stage = StageType(op.dtype, op.wire);
  const size_t userBytes = DTypeBytes(op.dtype);
  const size_t stageBytes = DTypeBytes(stage);
  const size_t perChunk = chunkBytes_ / stageBytes / (16 * size_) * (16 * size_);
  const auto* in = static_cast<const unsigned char*>(op.in);
  auto* out = static_cast<unsigned char*>(op.out);
  const bool gatherHere = gatherAll || rank_ == op.root;
  uint64_t overflows = 0;
  std::vector<const void*> peers;
  peers.reserve(size_);
  WriteHeader(op);
  for (size_t base = 0; base < op.count; base += perChunk) {
    const size_t m = std::min(perChunk, op.count - base);
    const int half = static_cast<int>(uses_++ & 1);
    unsigned char* mine = Stage(rank_, half);
    for (int s = 0; s < size_; ++s) {
      if (s == rank_) continue;
      size_t b, e;
      SliceOf(m, size_, s, &b, &e);
      overflows += ConvertCopy(op.dtype, stage, in + (base + b) * userBytes, mine + b * stageBytes, e - b);
    }
    PostAndWaitAll(op);
    if (base == 0) CheckHeaders();
    size_t b, e;
    SliceOf(m, size_, rank_, &b, &e);
    peers.clear();
    for (int p = 0; p < size_; ++p) {
      if (p != rank_) peers.push_back(Stage(p, half) + b * stageBytes);
    }
    overflows += Reduce(op.dtype, op.wire, op.redop, AvgDivisorOf(op, size_), in + (base + b) * userBytes, peers.data(),
                        static_cast<int>(peers.size()), e - b, mine + b * stageBytes,
                        gatherHere ? out + (base + b) * userBytes : nullptr);
    if (base + m >= op.count) PublishOverflows(overflows);
    PostAndWaitAll(op);
    if (!gatherHere) continue;
    for (int p = 0; p < size_; ++p) {
      if (p == rank_) continue;
      SliceOf(m, size_, p, &b, &e);
      ConvertCopy(stage, op.dtype, Stage(p, half) + b * stageBytes, out + (base + b) * userBytes, e - b);
    }
  }
  if (op.count == 0) {
    PublishOverflows(0);
    PostAndWaitAll(op);
    CheckHeaders();
  }
  result->wireOverflows = SumOverflows();
}

void ShmComm::Broadcast(const Op& op) {
  const size_t eb = DTypeBytes(op.dtype);
  const size_t perChunk = chunkBytes_ / eb;
  const auto* in = static_cast<const unsigned char*>(op.in);
  auto* out = static_cast<unsigned char*>(op.out);
  const bool root = rank_ == op.root;
  WriteHeader(op);
  size_t base = 0;
  do {
    const size_t m = std::min(perChunk, op.count - base);
    const int half = static_cast<int>(uses_++ & 1);
    if (root && m > 0) {
      std::memcpy(Stage(rank_, half), in + base * eb, m * eb);
      if (out != in) std::memcpy(out + base * eb, in + base * eb, m * eb);
    }
    PostAndWaitAll(op);
    if (base == 0) CheckHeaders();
    if (!root && m > 0) std::memcpy(out + base * eb, Stage(op.root, half), m * eb);
    base += m;
  } while (base < op.count);
}

void ShmComm::Allgather(const Op& op) {
  const size_t eb = DTypeBytes(op.dtype);
  const size_t perChunk = chunkBytes_ / eb;
  const auto* in = static_cast<const unsigned char*>(op.in);
  auto* out = static_cast<unsigned char*>(op.out);
  const size_t c = op.count;
  if (c > 0 && in != out + rank_ * c * eb) std::memmove(out + rank_ * c * eb, in, c * eb);
  const unsigned char* src = out + rank_ * c * eb;
  WriteHeader(op);
  size_t base = 0;
  do {
    const size_t m = std::min(perChunk, c - base);
    const int half = static_cast<int>(uses_++ & 1);
    if (m > 0) std::memcpy(Stage(rank_, half), src + base * eb, m * eb);
    PostAndWaitAll(op);
    if (base == 0) CheckHeaders();
    for (int p = 0; p < size_ && m > 0; ++p) {
      if (p != rank_) std::memcpy(out + (p * c + base) * eb, Stage(p, half), m * eb);
    }
    base += m;
  } while (base < c);
}

void ShmComm::ReduceScatter(const Op& op, OpResult* result) {
  const DType stage = StageType(op.dtype, op.wire);
  const size_t userBytes = DTypeBytes(op.dtype);
  const size_t stageBytes = DTypeBytes(stage);
  const size_t perChunk = std::max<size_t>(1, chunkBytes_ / stageBytes / size_);
  const auto* in = static_cast<const unsigned char*>(op.in);
  auto* out = static_cast<unsigned char*>(op.out);
  const size_t c = op.count;
  uint64_t overflows = 0;
  std::vector<const void*> peers;
  WriteHeader(op);
  size_t base = 0;
  do {
    const size_t m = std::min(perChunk, c - base);
    const int half = static_cast<int>(uses_++ & 1);
    unsigned char* mine = Stage(rank_, half);
    for (int s = 0; s < size_ && m > 0; ++s) {
      if (s != rank_) overflows += ConvertCopy(op.dtype, stage, in + (s * c + base) * userBytes, mine + s * perChunk * stageBytes, m);
    }
    PostAndWaitAll(op);
    if (base == 0) CheckHeaders();
    peers.clear();
    for (int p = 0; p < size_; ++p) {
      if (p != rank_) peers.push_back(Stage(p, half) + rank_ * perChunk * stageBytes);
    }
    // A separate output buffer may alias this rank's own input block: Reduce reads each block before writing it.
    overflows += Reduce(op.dtype, op.wire, op.redop, AvgDivisorOf(op, size_), in + (rank_ * c + base) * userBytes, peers.data(),
                        static_cast<int>(peers.size()), m, nullptr, out + base * userBytes);
    base += m;
  } while (base < c);
  // One more step so every rank's overflow count is visible to all.
  PublishOverflows(overflows);
  PostAndWaitAll(op);
  result->wireOverflows = SumOverflows();
}

// Send/recv use one channel per ordered pair: two halves, `sent`/`acked` chunk counters. Sends are
// eager: up to two chunks complete without the receiver, so two ranks may exchange messages with
// send-then-recv on both sides. Messages on a channel are received in the order they were sent (MPI's
// non-overtaking rule, without matching by tag out of order); each message's header travels in the half
// of its first chunk, so a sender one message ahead never overwrites the header the receiver has yet to
// read. A receive whose count, dtype or tag differs from the next message fails at once, and so does the
// sender's next send on that channel.
void ShmComm::Send(const Op& op) {
  const int peer = op.root;
  Channel* ch = ChannelOf(rank_, peer);
  const size_t eb = DTypeBytes(op.dtype);
  const size_t perChunk = p2pBytes_ / eb;
  const auto* in = static_cast<const unsigned char*>(op.in);
  size_t base = 0;
  bool first = true;
  auto checkError = [&]() {
    if (ch->error.load(std::memory_order_acquire) != 0) {
      broken_ = std::string(ch->errorText);
      throw CommError(ErrorCode::CollectiveMismatch, "shm: send to rank " + std::to_string(peer) + " failed: " + std::string(ch->errorText));
    }
  };
  do {
    const size_t m = std::min(perChunk, op.count - base);
    const uint32_t chunk = sendChunks_[peer];
    // The half this chunk uses was last used two chunks ago: wait until that one was acknowledged.
    WaitUntil(op, [&](Pending* pending) {
      checkError();
      uint32_t acked = ch->acked.load(std::memory_order_acquire);
      if (static_cast<int32_t>(acked + 1 - chunk) >= 0) return true;
      *pending = Pending{&ch->acked, acked, peer};
      return false;
    }, [&]() { return "rank " + std::to_string(peer) + " did not receive"; });
    if (first) {
      OpHeader h = HeaderOf(op, 0);
      h.kind = static_cast<uint32_t>(Kind::Send);
      ch->header[chunk & 1] = h;
      first = false;
    }
    if (m > 0) std::memcpy(ChannelData(rank_, peer, chunk & 1), in + base * eb, m * eb);
    sendChunks_[peer] = chunk + 1;
    ch->sent.store(chunk + 1, std::memory_order_seq_cst);
    if (header_->waiters.load(std::memory_order_seq_cst) != 0) FutexWakeAll(&ch->sent);
    base += m;
  } while (base < op.count);
}

void ShmComm::Recv(const Op& op) {
  const int peer = op.root;
  Channel* ch = ChannelOf(peer, rank_);
  const size_t eb = DTypeBytes(op.dtype);
  const size_t perChunk = p2pBytes_ / eb;
  auto* out = static_cast<unsigned char*>(op.out);
  size_t base = 0;
  bool first = true;
  do {
    const size_t m = std::min(perChunk, op.count - base);
    const uint32_t chunk = recvChunks_[peer];
    WaitUntil(op, [&](Pending* pending) {
      uint32_t sent = ch->sent.load(std::memory_order_acquire);
      if (static_cast<int32_t>(sent - (chunk + 1)) >= 0) return true;
      *pending = Pending{&ch->sent, sent, peer};
      return false;
    }, [&]() { return "rank " + std::to_string(peer) + " did not send"; });
    if (first) {
      OpHeader expected = HeaderOf(op, 0);
      expected.kind = static_cast<uint32_t>(Kind::Send);
      const OpHeader got = ch->header[chunk & 1];
      if (!SameHeader(expected, got)) {
        OpHeader mine = HeaderOf(op, 0);
        std::string text = "rank " + std::to_string(peer) + " passed " + Describe(got) + ", rank " + std::to_string(rank_) +
                           " passed " + Describe(mine);
        std::snprintf(ch->errorText, sizeof ch->errorText, "%s", text.c_str());
        ch->error.store(1, std::memory_order_seq_cst);
        FutexWakeAll(&ch->acked);
        broken_ = text;
        throw CommError(ErrorCode::CollectiveMismatch, "shm: send/recv mismatch: " + text);
      }
      first = false;
    }
    if (m > 0) std::memcpy(out + base * eb, ChannelData(peer, rank_, chunk & 1), m * eb);
    recvChunks_[peer] = chunk + 1;
    ch->acked.store(chunk + 1, std::memory_order_seq_cst);
    if (header_->waiters.load(std::memory_order_seq_cst) != 0) FutexWakeAll(&ch->acked);
    base += m;
  } while (base < op.count);
}

}  // namespace joule::comm
