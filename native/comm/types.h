// The flat description of one communication operation, copied from JS-validated options before it
// crosses to the communicator's thread, and the error a collective fails with.
#pragma once

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>

#include "errors.h"

namespace joule::comm {

enum class DType : uint32_t { F32 = 0, F64 = 1, I32 = 2, I64 = 3, BF16 = 4, F16 = 5 };
enum class RedOp : uint32_t { Sum = 0, Avg = 1, Max = 2, Min = 3, Prod = 4 };
enum class Kind : uint32_t {
  Barrier = 0, Allreduce = 1, Broadcast = 2, Allgather = 3, ReduceScatter = 4, Reduce = 5, Send = 6, Recv = 7
};
// The dtype bytes travel in; None means the buffer's own dtype.
enum class Wire : uint32_t { None = 0, BF16 = 1, F16 = 2 };

size_t DTypeBytes(DType dtype);
const char* DTypeName(DType dtype);
const char* RedOpName(RedOp op);
const char* KindName(Kind kind);
const char* WireName(Wire wire);

struct Op {
  Kind kind = Kind::Barrier;
  DType dtype = DType::F32;
  RedOp redop = RedOp::Sum;
  Wire wire = Wire::None;
  // Elements in `in`: per rank for allgather/reduceScatter (out has count * size for allgather,
  // in has count * size for reduceScatter, which writes `count` elements).
  uint64_t count = 0;
  int32_t root = 0;  // broadcast/reduce root, or the peer for send/recv
  int32_t tag = 0;
  const void* in = nullptr;
  void* out = nullptr;
  double timeoutS = 300;
  // What avg divides by; 0 means the communicator's size. A hierarchical allreduce sums inside each
  // node and averages between node leaders, dividing by the whole group's size.
  uint32_t avgDivisor = 0;
};

// The divisor of an avg on a communicator of `size` ranks.
inline int AvgDivisorOf(const Op& op, int size) { return op.avgDivisor != 0 ? static_cast<int>(op.avgDivisor) : size; }

// What a finished operation reports besides success: f16/bf16 wire overflows counted on all ranks.
struct OpResult {
  uint64_t wireOverflows = 0;
};

// A failure with the machine-readable code JS puts on the JouleError.
class CommError : public std::runtime_error {
 public:
  CommError(ErrorCode code, const std::string& message) : std::runtime_error(message), code_(code) {}
  ErrorCode code() const { return code_; }

 private:
  ErrorCode code_;
};

}  // namespace joule::comm
