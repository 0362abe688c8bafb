// Reduction kernels, instantiated per (buffer type, stage type, accumulator, op).
#include "comm/reduce.h"

#include <cmath>
#include <cstring>
#include <type_traits>

#include "cast/convert.h"

namespace joule::comm {
namespace {

// Tags so bf16 and f16 (both 16-bit patterns) pick different conversions.
struct Bf16 { uint16_t bits; };
struct F16 { uint16_t bits; };

template <typename T> struct Acc { using type = T; };
template <> struct Acc<Bf16> { using type = float; };
template <> struct Acc<F16> { using type = float; };

template <typename T> constexpr bool kIsHalf = false;
template <> constexpr bool kIsHalf<Bf16> = true;
template <> constexpr bool kIsHalf<F16> = true;

// Integer sum and product wrap (two's complement), as C's unsigned arithmetic and JS's `| 0` do.
template <typename A> inline A Add(A a, A b) { return a + b; }
template <> inline int32_t Add(int32_t a, int32_t b) { return static_cast<int32_t>(static_cast<uint32_t>(a) + static_cast<uint32_t>(b)); }
template <> inline int64_t Add(int64_t a, int64_t b) { return static_cast<int64_t>(static_cast<uint64_t>(a) + static_cast<uint64_t>(b)); }
template <typename A> inline A Mul(A a, A b) { return a * b; }
template <> inline int32_t Mul(int32_t a, int32_t b) { return static_cast<int32_t>(static_cast<uint32_t>(a) * static_cast<uint32_t>(b)); }
template <> inline int64_t Mul(int64_t a, int64_t b) { return static_cast<int64_t>(static_cast<uint64_t>(a) * static_cast<uint64_t>(b)); }

template <RedOp OP, typename A> inline A Combine(A a, A b) {
  if constexpr (OP == RedOp::Sum || OP == RedOp::Avg) return Add(a, b);
  else if constexpr (OP == RedOp::Prod) return Mul(a, b);
  else if constexpr (OP == RedOp::Max) return b > a ? b : a;
  else return b < a ? b : a;
}

constexpr size_t kBlock = 1024;

// float32 -> bf16/f16 with the SIMD casts on one thread (the caller is a communicator thread); returns
// how many finite inputs became ±Inf. Counting them here, from the input and the output, costs a
// fraction of the full quantization statistics that Convert can also compute.
uint64_t NarrowBlock(const float* input, uint16_t* output, size_t count, bool bf16) {
  cast::Options options;
  options.threads = 1;
  cast::Convert(bf16 ? cast::Direction::kF32ToBf16 : cast::Direction::kF32ToF16, input, output, count, options, nullptr);
  const uint16_t inf = bf16 ? 0x7F80 : 0x7C00;
  uint64_t overflows = 0;
  for (size_t i = 0; i < count; ++i) overflows += ((output[i] & 0x7FFF) == inf) & (std::fabs(input[i]) <= 3.4028234663852886e38f);
  return overflows;
}

void WidenBlock(const uint16_t* input, float* output, size_t count, bool bf16) {
  cast::Options options;
  options.threads = 1;
  cast::Convert(bf16 ? cast::Direction::kBf16ToF32 : cast::Direction::kF16ToF32, input, output, count, options, nullptr);
}

// `n` elements as the accumulator type: half types widened by the SIMD casts into `scratch`, so the
// combining loops below run on plain floats; other types are read where they are.
template <typename T, typename A>
const A* AsAcc(const T* src, A* scratch, size_t n) {
  static_assert(kIsHalf<T> ? std::is_same_v<A, float> : std::is_same_v<A, T>, "accumulates in the wrong type");
  if constexpr (kIsHalf<T>) {
    WidenBlock(reinterpret_cast<const uint16_t*>(src), scratch, n, std::is_same_v<T, Bf16>);
    return scratch;
  } else {
    return src;
  }
}

template <typename B, typename S, RedOp OP>
uint64_t ReduceT(int avgDivisor, const B* own, const S* const* stages, int stageCount, size_t count, S* outStage, B* outUser) {
  using A = typename Acc<S>::type;
  static_assert(std::is_same_v<A, typename Acc<B>::type> || kIsHalf<S>, "accumulator mismatch");
  A acc[kBlock];
  uint64_t overflows = 0;
  for (size_t base = 0; base < count; base += kBlock) {
    const size_t n = count - base < kBlock ? count - base : kBlock;
    A scratch[kBlock];
    int first = 0;
    const A* start = own != nullptr ? AsAcc(own + base, scratch, n) : AsAcc(stages[first++] + base, scratch, n);
    for (size_t i = 0; i < n; ++i) acc[i] = start[i];
    for (int p = first; p < stageCount; ++p) {
      const A* next = AsAcc(stages[p] + base, scratch, n);
      for (size_t i = 0; i < n; ++i) acc[i] = Combine<OP>(acc[i], next[i]);
    }
    if constexpr (OP == RedOp::Avg) {
      const A divisor = static_cast<A>(avgDivisor);
      for (size_t i = 0; i < n; ++i) acc[i] = acc[i] / divisor;
    }
    if constexpr (std::is_same_v<S, B> && kIsHalf<S>) {
      // A bf16/f16 buffer: an Inf its sum reaches is the IEEE result, not a wire overflow.
      S* target = outStage != nullptr ? outStage + base : outUser != nullptr ? outUser + base : nullptr;
      if (target != nullptr) NarrowBlock(acc, reinterpret_cast<uint16_t*>(target), n, std::is_same_v<S, Bf16>);
      if (outStage != nullptr && outUser != nullptr) std::memcpy(outUser + base, target, n * sizeof(S));
    } else if constexpr (std::is_same_v<S, B>) {
      if (outStage != nullptr) for (size_t i = 0; i < n; ++i) outStage[base + i] = acc[i];
      if (outUser != nullptr) for (size_t i = 0; i < n; ++i) outUser[base + i] = acc[i];
    } else {
      // Wire type: round once with the SIMD casts (their statistics count finite values that became
      // ±Inf), then hand back the rounded value so every rank ends with the same bits.
      S scratch[kBlock];
      S* stage = outStage != nullptr ? outStage + base : scratch;
      overflows += NarrowBlock(acc, reinterpret_cast<uint16_t*>(stage), n, std::is_same_v<S, Bf16>);
      if (outUser != nullptr) WidenBlock(reinterpret_cast<const uint16_t*>(stage), reinterpret_cast<float*>(outUser + base), n, std::is_same_v<S, Bf16>);
    }
  }
  return overflows;
}

template <typename B, typename S>
uint64_t ReduceOp(RedOp op, int avgDivisor, const void* own, const void* const* stages, int stageCount, size_t count, void* outStage, void* outUser) {
  auto o = static_cast<const B*>(own);
  auto s = reinterpret_cast<const S* const*>(stages);
  auto os = static_cast<S*>(outStage);
  auto ou = static_cast<B*>(outUser);
  switch (op) {
    case RedOp::Sum: return ReduceT<B, S, RedOp::Sum>(avgDivisor, o, s, stageCount, count, os, ou);
    case RedOp::Avg: return ReduceT<B, S, RedOp::Avg>(avgDivisor, o, s, stageCount, count, os, ou);
    case RedOp::Max: return ReduceT<B, S, RedOp::Max>(avgDivisor, o, s, stageCount, count, os, ou);
    case RedOp::Min: return ReduceT<B, S, RedOp::Min>(avgDivisor, o, s, stageCount, count, os, ou);
    case RedOp::Prod: return ReduceT<B, S, RedOp::Prod>(avgDivisor, o, s, stageCount, count, os, ou);
  }
  return 0;
}

}  // namespace

DType StageType(DType dtype, Wire wire) {
  if (wire == Wire::BF16) return DType::BF16;
  if (wire == Wire::F16) return DType::F16;
  return dtype;
}

uint64_t Reduce(DType dtype, Wire wire, RedOp op, int avgDivisor, const void* own, const void* const* stages,
                int stageCount, size_t count, void* outStage, void* outUser) {
  if (wire == Wire::BF16) return ReduceOp<float, Bf16>(op, avgDivisor, own, stages, stageCount, count, outStage, outUser);
  if (wire == Wire::F16) return ReduceOp<float, F16>(op, avgDivisor, own, stages, stageCount, count, outStage, outUser);
  switch (dtype) {
    case DType::F32: return ReduceOp<float, float>(op, avgDivisor, own, stages, stageCount, count, outStage, outUser);
    case DType::F64: return ReduceOp<double, double>(op, avgDivisor, own, stages, stageCount, count, outStage, outUser);
    case DType::I32: return ReduceOp<int32_t, int32_t>(op, avgDivisor, own, stages, stageCount, count, outStage, outUser);
    case DType::I64: return ReduceOp<int64_t, int64_t>(op, avgDivisor, own, stages, stageCount, count, outStage, outUser);
    case DType::BF16: return ReduceOp<Bf16, Bf16>(op, avgDivisor, own, stages, stageCount, count, outStage, outUser);
    case DType::F16: return ReduceOp<F16, F16>(op, avgDivisor, own, stages, stageCount, count, outStage, outUser);
  }
  return 0;
}

uint64_t ConvertCopy(DType from, DType to, const void* src, void* dst, size_t count) {
  if (from == to) {
    if (src != dst && count > 0) std::memcpy(dst, src, count * DTypeBytes(from));
    return 0;
  }
  const bool half = to == DType::BF16 || to == DType::F16 || from == DType::BF16 || from == DType::F16;
  if (from == DType::F32 && half) return NarrowBlock(static_cast<const float*>(src), static_cast<uint16_t*>(dst), count, to == DType::BF16);
  if (to == DType::F32 && half) {
    WidenBlock(static_cast<const uint16_t*>(src), static_cast<float*>(dst), count, from == DType::BF16);
    return 0;
  }
  throw CommError(ErrorCode::NativeError, std::string("no conversion from ") + DTypeName(from) + " to " + DTypeName(to));
}

}  // namespace joule::comm
