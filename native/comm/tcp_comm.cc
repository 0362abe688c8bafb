// TCP collectives over a full mesh of non-blocking sockets. Every operation starts with an all-to-all
// header exchange, so a mismatch fails every rank with the same text; waits poll with the operation's
// deadline and a pipe that Abort() writes to, so a timeout or abort ends them promptly.
#include "comm/tcp_comm.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <sstream>

#include "comm/futex.h"
#include "comm/header.h"
#include "comm/reduce.h"

namespace joule::comm {

namespace {

constexpr uint32_t kHelloMagic = 0x6A74636Fu;  // "jtco"
constexpr int64_t kSpinNs = 100000;  // how long a wait checks readiness before sleeping in poll()

struct Hello {
  uint32_t magic;
  int32_t rank;
  char token[32];
};

void SetNonBlocking(int fd) { fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK); }

void Tune(int fd) {
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  int bytes = 4 << 20;
  setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &bytes, sizeof bytes);
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bytes, sizeof bytes);
}

std::string Errno(const char* what) { return std::string(what) + ": " + std::strerror(errno); }

void Segment(size_t count, int parts, int index, size_t* begin, size_t* end) {
  const size_t base = count / parts, extra = count % parts;
  *begin = index * base + std::min<size_t>(index, extra);
  *end = *begin + base + (static_cast<size_t>(index) < extra ? 1 : 0);
}

}  // namespace

TcpComm::TcpComm(const TcpConfig& config)
    : rank_(config.rank), size_(config.size), token_(config.token), pieceBytes_(config.pieceBytes), smallBytes_(config.smallBytes),
      halvingBytes_(config.halvingBytes),
      aheadPieces_(std::max<size_t>(1, config.aheadPieces)),
      fds_(config.size, -1) {
  listenFd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listenFd_ < 0) throw CommError(ErrorCode::BackendUnavailable, Errno("tcp: socket"));
  int one = 1;
  setsockopt(listenFd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_ANY);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  if (bind(listenFd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || listen(listenFd_, config.size + 8) != 0 ||
      getsockname(listenFd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    std::string error = Errno("tcp: bind/listen");
    close(listenFd_);
    throw CommError(ErrorCode::BackendUnavailable, error);
  }
  port_ = ntohs(addr.sin_port);
  int pipeFds[2];
  if (pipe2(pipeFds, O_CLOEXEC | O_NONBLOCK) != 0) {
    close(listenFd_);
    throw CommError(ErrorCode::BackendUnavailable, Errno("tcp: pipe"));
  }
  wakeRead_ = pipeFds[0];
  wakeWrite_ = pipeFds[1];
}

TcpComm::~TcpComm() {
  for (int fd : fds_) if (fd >= 0) close(fd);
  if (listenFd_ >= 0) close(listenFd_);
  if (wakeRead_ >= 0) close(wakeRead_);
  if (wakeWrite_ >= 0) close(wakeWrite_);
}

void TcpComm::SetPeers(std::vector<std::string> hosts, std::vector<int> ports) {
  hosts_ = std::move(hosts);
  ports_ = std::move(ports);
}

void TcpComm::Abort(const std::string& reason) {
  {
    std::lock_guard<std::mutex> lock(abortMutex_);
    if (abortReason_.empty()) abortReason_ = reason;
  }
  aborted_.store(true);
  char byte = 1;
  (void)!write(wakeWrite_, &byte, 1);
}

std::string TcpComm::Label(const Op& op) const {
  return std::string(KindName(op.kind)) + " #" + std::to_string(seq_);
}

void TcpComm::Fail(ErrorCode code, const std::string& message) {
  if (code != ErrorCode::CollectiveMismatch) broken_ = message;
  throw CommError(code, message);
}

void TcpComm::FailTimeout(const Op& op, const std::vector<int>& late) {
  std::ostringstream text;
  text << "tcp: " << Label(op) << " timed out after " << op.timeoutS << " s on rank " << rank_ << ": " << RankList(late) << " did not arrive";
  Fail(ErrorCode::Timeout, text.str());
}

void TcpComm::ThrowIfAborted(const Op& op) {
  if (!aborted_.load()) return;
  std::string reason;
  {
    std::lock_guard<std::mutex> lock(abortMutex_);
    reason = abortReason_;
  }
  Fail(ErrorCode::Aborted, "tcp: " + Label(op) + " on rank " + std::to_string(rank_) + " aborted: " + reason);
}

// Waits until one of `wants` (fd, events) is ready, the abort pipe fires, or the deadline passes.
void TcpComm::WaitFor(const Op& op, const std::vector<std::pair<int, short>>& wants, int64_t deadline) {
  std::vector<pollfd> fds;
  for (const auto& [fd, events] : wants) fds.push_back(pollfd{fd, events, 0});
  fds.push_back(pollfd{wakeRead_, POLLIN, 0});
  const int64_t now = NowNs();
  if (now >= deadline) return;
  // A peer on the same node usually answers within microseconds: check for that briefly before
  // sleeping, since a poll() sleep and wake-up pair costs tens of microseconds per small operation.
  const int64_t spinEnd = std::min<int64_t>(now + kSpinNs, deadline);
  while (poll(fds.data(), fds.size(), 0) == 0) {
    if (NowNs() >= spinEnd) {
      const int timeoutMs = static_cast<int>(std::min<int64_t>((deadline - NowNs()) / 1000000 + 1, 50));
      poll(fds.data(), fds.size(), timeoutMs);
      break;
    }
  }
  ThrowIfAborted(op);
}

bool TcpComm::Step(const Op& op, Transfer& t) {
  const int fd = fds_[t.peer];
  while (t.done < t.bytes) {
    ssize_t n = t.send ? ::send(fd, t.data + t.done, t.bytes - t.done, MSG_NOSIGNAL) : ::recv(fd, t.data + t.done, t.bytes - t.done, 0);
    if (n > 0) {
      t.done += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return false;
    if (n < 0 && errno == EINTR) continue;
    Fail(ErrorCode::RankFailed, "tcp: " + Label(op) + " on rank " + std::to_string(rank_) + ": the connection to rank " + std::to_string(t.peer) +
                                  " closed (" + (n == 0 ? std::string("end of stream") : std::string(std::strerror(errno))) + "): it died or aborted");
  }
  return true;
}

void TcpComm::Progress(const Op& op, std::vector<Transfer>& transfers) {
  const int64_t deadline = NowNs() + static_cast<int64_t>(op.timeoutS * 1e9);
  for (;;) {
    std::vector<std::pair<int, short>> wants;
    for (Transfer& t : transfers) {
      if (t.done < t.bytes && !Step(op, t)) wants.push_back({fds_[t.peer], static_cast<short>(t.send ? POLLOUT : POLLIN)});
    }
    if (wants.empty()) return;
    if (NowNs() >= deadline) {
      std::vector<int> late;
      for (const Transfer& t : transfers) {
        if (t.done < t.bytes && std::find(late.begin(), late.end(), t.peer) == late.end()) late.push_back(t.peer);
      }
      FailTimeout(op, late);
    }
    WaitFor(op, wants, deadline);
  }
}

// The mesh: rank i dials every lower rank and accepts every higher one; a dialer presents the token.
void TcpComm::Connect(const Op& op) {
  if (static_cast<int>(hosts_.size()) != size_) throw CommError(ErrorCode::NativeError, "tcp: peers were not set before the first operation");
  const int64_t deadline = NowNs() + static_cast<int64_t>(op.timeoutS * 1e9);
  for (int peer = 0; peer < rank_; ++peer) {
    addrinfo hints{};
    hints.ai_family = AF_INET;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* found = nullptr;
    int rc = getaddrinfo(hosts_[peer].c_str(), std::to_string(ports_[peer]).c_str(), &hints, &found);
    if (rc != 0) Fail(ErrorCode::BackendUnavailable, "tcp: cannot resolve rank " + std::to_string(peer) + "'s host " + hosts_[peer] + ": " + gai_strerror(rc));
    int fd = -1;
    for (;;) {
      fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      if (connect(fd, found->ai_addr, found->ai_addrlen) == 0) break;
      std::string error = std::strerror(errno);
      close(fd);
      if (NowNs() >= deadline) {
        freeaddrinfo(found);
        Fail(ErrorCode::Timeout, "tcp: rank " + std::to_string(rank_) + " cannot connect to rank " + std::to_string(peer) + " at " + hosts_[peer] + ":" +
                                  std::to_string(ports_[peer]) + ": " + error);
      }
      ThrowIfAborted(op);
      usleep(20000);
    }
    freeaddrinfo(found);
    Tune(fd);
    Hello hello{kHelloMagic, rank_, {}};
    std::memcpy(hello.token, token_.data(), std::min<size_t>(32, token_.size()));
    fds_[peer] = fd;
    SetNonBlocking(fd);
    std::vector<Transfer> t{{peer, true, reinterpret_cast<unsigned char*>(&hello), sizeof hello, 0}};
    Progress(op, t);
  }
  SetNonBlocking(listenFd_);
  int missing = size_ - 1 - rank_;
  while (missing > 0) {
    int fd = accept4(listenFd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) Fail(ErrorCode::BackendUnavailable, Errno("tcp: accept"));
      if (NowNs() >= deadline) {
        std::vector<int> late;
        for (int r = rank_ + 1; r < size_; ++r) if (fds_[r] < 0) late.push_back(r);
        Fail(ErrorCode::Timeout, "tcp: rank " + std::to_string(rank_) + " timed out waiting for " + RankList(late) + " to connect");
      }
      WaitFor(op, {{listenFd_, POLLIN}}, deadline);
      continue;
    }
    // A peer that cannot present the token within a second is dropped (a stray or hostile client).
    Hello hello{};
    pollfd p{fd, POLLIN, 0};
    size_t got = 0;
    while (got < sizeof hello && poll(&p, 1, 1000) > 0) {
      ssize_t n = recv(fd, reinterpret_cast<char*>(&hello) + got, sizeof hello - got, 0);
      if (n <= 0) break;
      got += static_cast<size_t>(n);
    }
    if (got != sizeof hello || hello.magic != kHelloMagic || std::memcmp(hello.token, token_.data(), std::min<size_t>(32, token_.size())) != 0 ||
        hello.rank <= rank_ || hello.rank >= size_ || fds_[hello.rank] >= 0) {
      close(fd);
      continue;
    }
    Tune(fd);
    SetNonBlocking(fd);
    fds_[hello.rank] = fd;
    --missing;
  }
  close(listenFd_);
  listenFd_ = -1;
  connected_ = true;
}

// A small reduction's first recursive-doubling exchange rides behind the header, so the operation
// costs one round trip instead of two. How many bytes follow is a function of the sender's header
// alone: a rank that finds a mismatch can still skip exactly what its peers sent.
size_t TcpComm::EagerBytes(const OpHeader& h, int from, int to) const {
  const Kind kind = static_cast<Kind>(h.kind);
  if ((kind != Kind::Allreduce && kind != Kind::Reduce) || to != (from ^ 1)) return 0;
  const size_t bytes = h.count * DTypeBytes(StageType(static_cast<DType>(h.dtype), static_cast<Wire>(h.wire)));
  return SmallReduction(bytes) ? bytes : 0;
}

bool TcpComm::SmallReduction(size_t stageBytes) const { return size_ > 1 && (size_ & (size_ - 1)) == 0 && stageBytes <= smallBytes_; }

// `frame`, when given, is this rank's eager payload with sizeof(OpHeader) bytes free in front of it.
void TcpComm::ExchangeHeaders(const Op& op, unsigned char* frame) {
  std::vector<OpHeader> headers(size_);
  headers[rank_] = HeaderOf(op, seq_);
  if (frame) std::memcpy(frame, &headers[rank_], sizeof(OpHeader));
  std::vector<Transfer> transfers;
  for (int p = 0; p < size_; ++p) {
    if (p == rank_) continue;
    const size_t eager = frame ? EagerBytes(headers[rank_], rank_, p) : 0;
    unsigned char* sent = eager ? frame : reinterpret_cast<unsigned char*>(&headers[rank_]);
    transfers.push_back({p, true, sent, sizeof(OpHeader) + eager, 0});
    transfers.push_back({p, false, reinterpret_cast<unsigned char*>(&headers[p]), sizeof(OpHeader), 0});
  }
  Progress(op, transfers);
  std::string text = MismatchText(headers);
  if (text.empty()) return;
  // Skip what the peers sent behind their headers, so the streams stay in step for the next operation.
  transfers.clear();
  std::vector<std::vector<unsigned char>> skipped;
  for (int p = 0; p < size_; ++p) {
    const size_t eager = p == rank_ ? 0 : EagerBytes(headers[p], p, rank_);
    if (eager == 0) continue;
    skipped.emplace_back(eager);
    transfers.push_back({p, false, skipped.back().data(), eager, 0});
  }
  Progress(op, transfers);
  const uint64_t seq = seq_++;
  Fail(ErrorCode::CollectiveMismatch, "tcp: collective mismatch at operation #" + std::to_string(seq) + " (seen on rank " + std::to_string(rank_) + "): " + text);
}

OpResult TcpComm::Run(const Op& op) {
  if (!broken_.empty()) throw CommError(ErrorCode::Aborted, "tcp: the communicator cannot be used after an earlier failure: " + broken_);
  ThrowIfAborted(op);
  if (!connected_) Connect(op);
  OpResult result;
  if (op.kind == Kind::Send || op.kind == Kind::Recv) {
    // Point to point: the pair's header, then the payload, on the pair's own connection.
    const int peer = op.root;
    OpHeader mine = HeaderOf(op, 0), theirs{};
    mine.kind = static_cast<uint32_t>(Kind::Send);
    std::vector<Transfer> t{{peer, op.kind == Kind::Send, reinterpret_cast<unsigned char*>(op.kind == Kind::Send ? &mine : &theirs), sizeof(OpHeader), 0}};
    Progress(op, t);
    const size_t bytes = op.count * DTypeBytes(op.dtype);
    if (op.kind == Kind::Recv && !SameHeader(mine, theirs)) {
      // The sender's payload is already on its way: the stream cannot be trusted any more.
      broken_ = "send/recv mismatch with rank " + std::to_string(peer);
      // `mine` was relabelled send to compare with the sender's header; the message says what this rank called.
      throw CommError(ErrorCode::CollectiveMismatch, "tcp: send/recv mismatch: rank " + std::to_string(peer) + " passed " + Describe(theirs) + ", rank " + std::to_string(rank_) +
                                            " passed " + Describe(HeaderOf(op, 0)));
    }
    t = {{peer, op.kind == Kind::Send, static_cast<unsigned char*>(op.kind == Kind::Send ? const_cast<void*>(op.in) : op.out), bytes, 0}};
    Progress(op, t);
    return result;
  }
  if (op.kind == Kind::Allreduce || op.kind == Kind::Reduce) {
    // The root keeps a reduce's result; the others reduce into scratch space (their buffers stay as they were).
    void* out = op.out;
    if (op.kind == Kind::Reduce && rank_ != op.root) {
      scratch_.resize(op.count * DTypeBytes(op.dtype));
      out = scratch_.data();
    }
    // Recursive doubling exchanges the headers itself, its first exchange riding behind them.
    if (SmallReduction(op.count * DTypeBytes(StageType(op.dtype, op.wire)))) {
      RecursiveDoubling(op, out, &result);
    } else {
      ExchangeHeaders(op, nullptr);
      Allreduce(op, out, &result);
    }
    ++seq_;
    return result;
  }
  ExchangeHeaders(op, nullptr);
  switch (op.kind) {
    case Kind::Barrier: break;
    case Kind::Broadcast: Broadcast(op); break;
    case Kind::Allgather: Allgather(op); break;
    case Kind::ReduceScatter: ReduceScatter(op, &result); break;
    default: throw CommError(ErrorCode::BadArgument, "tcp: unknown operation");
  }
  ++seq_;
  return result;
}

uint64_t TcpComm::SumCounts(const Op& op, uint64_t mine) {
  std::vector<uint64_t> all(size_, 0);
  all[rank_] = mine;
  std::vector<Transfer> transfers;
  for (int p = 0; p < size_; ++p) {
    if (p == rank_) continue;
    transfers.push_back({p, true, reinterpret_cast<unsigned char*>(&all[rank_]), sizeof(uint64_t), 0});
    transfers.push_back({p, false, reinterpret_cast<unsigned char*>(&all[p]), sizeof(uint64_t), 0});
  }
  Progress(op, transfers);
  uint64_t total = 0;
  for (uint64_t v : all) total += v;
  return total;
}

void TcpComm::Allreduce(const Op& op, void* out, OpResult* result) {
  const size_t eb = DTypeBytes(op.dtype);
  auto* target = static_cast<unsigned char*>(out);
  uint64_t overflows = 0;
  if (size_ >= 4 && (size_ & (size_ - 1)) == 0 && op.count * DTypeBytes(StageType(op.dtype, op.wire)) <= halvingBytes_) {
    if (out != op.in && op.count > 0) std::memcpy(out, op.in, op.count * eb);
    overflows = HalvingDoubling(op, target);
  } else if (size_ > 1) {
    // Out of place, the ring reads the input where it is: no copy of it into the output first.
    std::vector<std::pair<size_t, size_t>> segments(size_);
    for (int i = 0; i < size_; ++i) Segment(op.count, size_, i, &segments[i].first, &segments[i].second);
    overflows = Ring(op, static_cast<const unsigned char*>(op.in), target, segments, true, 0);
  } else {
    if (out != op.in && op.count > 0) std::memcpy(out, op.in, op.count * eb);
    if (op.redop == RedOp::Avg || op.wire != Wire::None) {
      // One rank: avg divides by 1 and a wire still rounds, as with more ranks.
      const void* none[1] = {nullptr};
      overflows = Reduce(op.dtype, op.wire, op.redop, AvgDivisorOf(op, 1), out, none, 0, op.count, nullptr, out);
    }
  }
  result->wireOverflows = op.wire != Wire::None ? SumCounts(op, overflows) : 0;
}

// log2(n) exchanges of the whole vector with rank ^ mask; the first rides behind the header. With a
// wire format, each rank first rounds its own values, so both partners combine the same two wire
// values and end with the same bits.
void TcpComm::RecursiveDoubling(const Op& op, void* out, OpResult* result) {
  const DType stage = StageType(op.dtype, op.wire);
  const size_t sb = DTypeBytes(stage);
  sendStage_.resize(sizeof(OpHeader) + op.count * sb);
  recvStage_.resize(op.count * sb);
  unsigned char* payload = sendStage_.data() + sizeof(OpHeader);
  uint64_t overflows = ConvertCopy(op.dtype, stage, op.in, payload, op.count);
  ExchangeHeaders(op, sendStage_.data());
  if (op.wire != Wire::None) ConvertCopy(stage, op.dtype, payload, out, op.count);
  else if (out != op.in && op.count > 0) std::memcpy(out, op.in, op.count * DTypeBytes(op.dtype));
  for (int mask = 1; mask < size_; mask <<= 1) {
    const int partner = rank_ ^ mask;
    const bool last = (mask << 1) >= size_;
    std::vector<Transfer> t{{partner, false, recvStage_.data(), op.count * sb, 0}};
    if (mask > 1) {
      ConvertCopy(op.dtype, stage, out, payload, op.count);
      t.push_back({partner, true, payload, op.count * sb, 0});
    }
    Progress(op, t);
    const void* peers[1] = {recvStage_.data()};
    const RedOp step = (op.redop == RedOp::Avg && !last) ? RedOp::Sum : op.redop;
    // Lower rank's value first, so both partners add in the same order.
    if (rank_ < partner) {
      overflows += Reduce(op.dtype, op.wire, step, AvgDivisorOf(op, size_), out, peers, 1, op.count, nullptr, out);
    } else {
      // Partner's (received) values first: reduce into a copy of them, then take the result.
      std::vector<unsigned char> mineAsStage(op.count * sb);
      ConvertCopy(op.dtype, stage, out, mineAsStage.data(), op.count);
      const void* own[1] = {mineAsStage.data()};
      std::vector<unsigned char> first(op.count * DTypeBytes(op.dtype));
      ConvertCopy(stage, op.dtype, recvStage_.data(), first.data(), op.count);
      overflows += Reduce(op.dtype, op.wire, step, AvgDivisorOf(op, size_), first.data(), own, 1, op.count, nullptr, out);
    }
  }
  result->wireOverflows = op.wire != Wire::None ? SumCounts(op, overflows) : 0;
}

// Rabenseifner's allreduce: at distances n/2, n/4, ..., 1 each rank keeps one half of its current range
// and hands the other to the partner, which reduces it; after log2(n) steps every rank owns 1/n of the
// vector, reduced over all ranks (and rounded to the wire format, if any, by the last step). The
// allgather retraces the steps, doubling the owned range each time. Same bytes as the ring, log2(n)
// steps each way instead of n - 1, so it suits sizes where per-step latency still counts. (Two ranks
// take the ring: with one step each way the schedules agree, and the ring pipelines its pieces.)
uint64_t TcpComm::HalvingDoubling(const Op& op, unsigned char* out) {
  const DType stage = StageType(op.dtype, op.wire);
  const size_t eb = DTypeBytes(op.dtype), sb = DTypeBytes(stage);
  const bool directSend = op.wire == Wire::None;
  sendStage_.resize((op.count / 2 + 1) * sb);
  recvStage_.resize((op.count / 2 + 1) * sb);
  struct Halving {
    int partner;
    size_t lo, hi;  // the range before this step halved it
  };
  std::vector<Halving> steps;
  size_t lo = 0, hi = op.count;
  uint64_t overflows = 0;
  for (int mask = size_ / 2; mask >= 1; mask >>= 1) {
    const int partner = rank_ ^ mask;
    const size_t mid = lo + (hi - lo) / 2;
    const bool keepLower = (rank_ & mask) == 0;
    const size_t keepLo = keepLower ? lo : mid, keepHi = keepLower ? mid : hi;
    const size_t giveLo = keepLower ? mid : lo, giveHi = keepLower ? hi : mid;
    unsigned char* give = out + giveLo * eb;
    if (!directSend) {
      overflows += ConvertCopy(op.dtype, stage, give, sendStage_.data(), giveHi - giveLo);
      give = sendStage_.data();
    }
    std::vector<Transfer> t{{partner, true, give, (giveHi - giveLo) * sb, 0}, {partner, false, recvStage_.data(), (keepHi - keepLo) * sb, 0}};
    Progress(op, t);
    const RedOp step = (op.redop == RedOp::Avg && mask != 1) ? RedOp::Sum : op.redop;
    const void* peers[1] = {recvStage_.data()};
    overflows += Reduce(op.dtype, op.wire, step, AvgDivisorOf(op, size_), out + keepLo * eb, peers, 1, keepHi - keepLo, nullptr, out + keepLo * eb);
    steps.push_back({partner, lo, hi});
    lo = keepLo;
    hi = keepHi;
  }
  for (auto s = steps.rbegin(); s != steps.rend(); ++s) {
    // The partner owns the rest of the range this step had halved.
    const size_t otherLo = lo == s->lo ? hi : s->lo, otherHi = lo == s->lo ? s->hi : lo;
    unsigned char* mine = out + lo * eb;
    if (!directSend) {
      ConvertCopy(op.dtype, stage, mine, sendStage_.data(), hi - lo);
      mine = sendStage_.data();
    }
    unsigned char* theirs = directSend ? out + otherLo * eb : recvStage_.data();
    std::vector<Transfer> t{{s->partner, true, mine, (hi - lo) * sb, 0}, {s->partner, false, theirs, (otherHi - otherLo) * sb, 0}};
    Progress(op, t);
    if (!directSend) ConvertCopy(stage, op.dtype, recvStage_.data(), out + otherLo * eb, otherHi - otherLo);
    lo = s->lo;
    hi = s->hi;
  }
  return overflows;
}

// The pipelined ring. Transfers are numbered L = step * P + piece over 2(n-1) steps (n-1 without the
// gather); piece L may be sent once piece L - P (its input from the previous step) has been received,
// and no more than aheadPieces_ sends ahead of the receives. Without that bound the reduce-scatter
// pushed a whole segment (4 MiB at 8 MiB) into the socket before reading anything, so every piece
// went cold out of L2 before it was received and reduced (measured, 2 ranks on loopback, 1 MiB L2:
// 8 MiB allreduce 3.4-4.5 ms unbounded, 2.0-3.0 ms with one piece ahead; two ahead was no better).
uint64_t TcpComm::Ring(const Op& op, const unsigned char* own, unsigned char* out, const std::vector<std::pair<size_t, size_t>>& segments, bool gather, int shift) {
  const int n = size_;
  const DType stage = StageType(op.dtype, op.wire);
  const size_t eb = DTypeBytes(op.dtype), sb = DTypeBytes(stage);
  const int right = (rank_ + 1) % n, left = (rank_ + n - 1) % n;
  size_t maxSeg = 0;
  for (const auto& s : segments) maxSeg = std::max(maxSeg, s.second - s.first);
  const size_t pieceElems = std::max<size_t>(1, pieceBytes_ / sb);
  const size_t P = std::max<size_t>(1, (maxSeg + pieceElems - 1) / pieceElems);
  const size_t steps = gather ? 2 * (n - 1) : (n - 1);
  const size_t total = steps * P;
  const bool directSend = op.wire == Wire::None;
  sendStage_.resize(pieceElems * sb);
  recvStage_.resize(pieceElems * sb);
  auto mod = [n](long v) { return static_cast<int>(((v % n) + n) % n); };
  // Which segment a transfer carries, and its element range.
  auto range = [&](size_t L, bool send, size_t* b, size_t* e, bool* reducing) {
    const long s = static_cast<long>(L / P), p = static_cast<long>(L % P);
    int seg;
    if (s < n - 1) {
      seg = mod(rank_ - s + (send ? 0 : -1) + shift);
      *reducing = true;
    } else {
      const long g = s - (n - 1);
      seg = mod(rank_ + 1 - g + (send ? 0 : -1) + shift);
      *reducing = false;
    }
    const size_t begin = segments[seg].first + p * pieceElems;
    *b = std::min(begin, segments[seg].second);
    *e = std::min(begin + pieceElems, segments[seg].second);
  };
  uint64_t overflows = 0;
  size_t sendL = 0, recvL = 0;
  Transfer sending{right, true, nullptr, 0, 0}, receiving{left, false, nullptr, 0, 0};
  bool haveSend = false, haveRecv = false;
  size_t recvB = 0, recvE = 0;
  bool recvReducing = false;
  const int64_t deadline = NowNs() + static_cast<int64_t>(op.timeoutS * 1e9);
  while (sendL < total || recvL < total) {
    bool moved = false;
    if (!haveSend && sendL < total && (sendL < P || sendL - P < recvL) && sendL < recvL + aheadPieces_) {
      size_t b, e;
      bool reducing;
      range(sendL, true, &b, &e, &reducing);
      if (e == b) {
        ++sendL;
        continue;
      }
      // Step 0 sends this rank's own values; later steps send what the previous step reduced.
      const unsigned char* source = (sendL < P ? own : out) + b * eb;
      if (directSend) {
        sending.data = const_cast<unsigned char*>(source);
      } else {
        overflows += ConvertCopy(op.dtype, stage, source, sendStage_.data(), e - b);
        sending.data = sendStage_.data();
      }
      sending.bytes = (e - b) * sb;
      sending.done = 0;
      haveSend = true;
    }
    if (!haveRecv && recvL < total) {
      range(recvL, false, &recvB, &recvE, &recvReducing);
      if (recvE == recvB) {
        ++recvL;
        continue;
      }
      // Gathered pieces land in place unless they need widening from the wire format.
      receiving.data = (!recvReducing && directSend) ? out + recvB * eb : recvStage_.data();
      receiving.bytes = (recvE - recvB) * sb;
      receiving.done = 0;
      haveRecv = true;
    }
    if (haveSend && Step(op, sending)) {
      haveSend = false;
      ++sendL;
      moved = true;
    }
    if (haveRecv && Step(op, receiving)) {
      if (recvReducing) {
        const long s = static_cast<long>(recvL / P);
        const bool final = s == n - 2;
        const RedOp step = (op.redop == RedOp::Avg && !final) ? RedOp::Sum : op.redop;
        const void* peers[1] = {recvStage_.data()};
        overflows += Reduce(op.dtype, op.wire, step, AvgDivisorOf(op, n), own + recvB * eb, peers, 1, recvE - recvB, nullptr, out + recvB * eb);
      } else if (!directSend) {
        ConvertCopy(stage, op.dtype, recvStage_.data(), out + recvB * eb, recvE - recvB);
      }
      haveRecv = false;
      ++recvL;
      moved = true;
    }
    if (moved) continue;
    if (NowNs() >= deadline) FailTimeout(op, {left});
    std::vector<std::pair<int, short>> wants;
    if (haveSend) wants.push_back({fds_[right], POLLOUT});
    if (haveRecv) wants.push_back({fds_[left], POLLIN});
    WaitFor(op, wants, deadline);
  }
  return overflows;
}

// Small messages: the root sends to every rank at once (one hop). Larger ones with three or more
// ranks: a pipelined chain from the root through the ranks in order, each forwarding a piece as soon
// as it has it, so no link carries the message more than once (the flat send costs the root n - 1).
void TcpComm::Broadcast(const Op& op) {
  const size_t bytes = op.count * DTypeBytes(op.dtype);
  if (rank_ == op.root && op.out != op.in && bytes > 0) std::memcpy(op.out, op.in, bytes);
  if (size_ > 2 && bytes > smallBytes_) {
    ChainBroadcast(op, bytes);
    return;
  }
  std::vector<Transfer> transfers;
  if (rank_ == op.root) {
    for (int p = 0; p < size_; ++p) {
      if (p != rank_) transfers.push_back({p, true, static_cast<unsigned char*>(op.out), bytes, 0});
    }
  } else {
    transfers.push_back({op.root, false, static_cast<unsigned char*>(op.out), bytes, 0});
  }
  Progress(op, transfers);
}

void TcpComm::ChainBroadcast(const Op& op, size_t bytes) {
  const int n = size_;
  const int position = (rank_ - op.root + n) % n;
  const int prev = (rank_ + n - 1) % n, next = (rank_ + 1) % n;
  const bool forwards = position < n - 1;
  auto* out = static_cast<unsigned char*>(op.out);
  const size_t pieces = (bytes + pieceBytes_ - 1) / pieceBytes_;
  auto piece = [&](size_t i, Transfer* t) {
    t->data = out + i * pieceBytes_;
    t->bytes = std::min(pieceBytes_, bytes - i * pieceBytes_);
    t->done = 0;
  };
  size_t sent = 0, received = position == 0 ? pieces : 0;
  Transfer sending{next, true, nullptr, 0, 0}, receiving{prev, false, nullptr, 0, 0};
  bool haveSend = false, haveRecv = false;
  const int64_t deadline = NowNs() + static_cast<int64_t>(op.timeoutS * 1e9);
  while ((forwards && sent < pieces) || received < pieces) {
    if (forwards && !haveSend && sent < received) {
      piece(sent, &sending);
      haveSend = true;
    }
    if (!haveRecv && received < pieces) {
      piece(received, &receiving);
      haveRecv = true;
    }
    bool moved = false;
    if (haveSend && Step(op, sending)) {
      haveSend = false;
      ++sent;
      moved = true;
    }
    if (haveRecv && Step(op, receiving)) {
      haveRecv = false;
      ++received;
      moved = true;
    }
    if (moved) continue;
    if (NowNs() >= deadline) FailTimeout(op, {haveRecv ? prev : next});
    std::vector<std::pair<int, short>> wants;
    if (haveSend) wants.push_back({fds_[next], POLLOUT});
    if (haveRecv) wants.push_back({fds_[prev], POLLIN});
    WaitFor(op, wants, deadline);
  }
}

void TcpComm::Allgather(const Op& op) {
  const size_t eb = DTypeBytes(op.dtype);
  auto* out = static_cast<unsigned char*>(op.out);
  const size_t c = op.count;
  if (c > 0 && op.in != out + rank_ * c * eb) std::memmove(out + rank_ * c * eb, op.in, c * eb);
  if (size_ == 1 || c == 0) return;
  // The gather half of the ring, with rank r starting from its own block: shift so it "owns" block r.
  std::vector<std::pair<size_t, size_t>> segments(size_);
  for (int i = 0; i < size_; ++i) segments[i] = {i * c, (i + 1) * c};
  Op gatherOnly = op;
  gatherOnly.wire = Wire::None;
  const int n = size_;
  // Send own block, then forward what arrived from the left, n-1 times.
  std::vector<Transfer> t;
  for (int s = 0; s < n - 1; ++s) {
    const int sendBlock = ((rank_ - s) % n + n) % n, recvBlock = ((rank_ - s - 1) % n + n) % n;
    t = {{(rank_ + 1) % n, true, out + sendBlock * c * eb, c * eb, 0}, {(rank_ + n - 1) % n, false, out + recvBlock * c * eb, c * eb, 0}};
    Progress(gatherOnly, t);
  }
}

void TcpComm::ReduceScatter(const Op& op, OpResult* result) {
  const size_t eb = DTypeBytes(op.dtype);
  const size_t c = op.count;
  // The ring reduces into scratch space laid out like the input; rank r ends owning block r (ring
  // shift -1), then copies it out (the output may alias the input).
  scratch_.resize(c * size_ * eb);
  uint64_t overflows = 0;
  if (size_ > 1 && c > 0) {
    std::vector<std::pair<size_t, size_t>> segments(size_);
    for (int i = 0; i < size_; ++i) segments[i] = {i * c, (i + 1) * c};
    overflows = Ring(op, static_cast<const unsigned char*>(op.in), scratch_.data(), segments, false, -1);
  } else if (c > 0) {
    std::memcpy(scratch_.data(), op.in, c * size_ * eb);
  }
  if (size_ == 1 && (op.redop == RedOp::Avg || op.wire != Wire::None)) {
    const void* none[1] = {nullptr};
    overflows = Reduce(op.dtype, op.wire, op.redop, AvgDivisorOf(op, 1), scratch_.data(), none, 0, c, nullptr, scratch_.data());
  }
  if (c > 0) std::memcpy(op.out, scratch_.data() + rank_ * c * eb, c * eb);
  result->wireOverflows = op.wire != Wire::None ? SumCounts(op, overflows) : 0;
}

}  // namespace joule::comm
