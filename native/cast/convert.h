// Array conversions between f32, f64, bf16 and f16 for host memory: SIMD paths chosen at run time,
// split over a small thread pool for large arrays, optionally scaled and with quantization statistics
// gathered in the same pass. Every path gives the bits of cast/scalar.h.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace joule::cast {

// Each supported (source, target) pair. kF32ToF32 is a scaled copy (loss scaling/unscaling in place).
enum class Direction : int {
  kF32ToBf16 = 0,
  kF32ToF16,
  kBf16ToF32,
  kF16ToF32,
  kF64ToF32,
  kF32ToF64,
  kF32ToF32,
  kCount,
};

size_t SourceBytes(Direction direction);
size_t TargetBytes(Direction direction);

// Quantization statistics of one conversion. With r = widen(x) * scale computed in double and c the
// stored result widened to double:
//   nonFinite: inputs that are NaN or ±Inf;
//   overflow:  finite r whose c is ±Inf;
//   underflow: r != 0 whose c is ±0;
//   sumSquaredError / sumSquared: Σ(r - c)² and Σr² over finite r with finite c, so that
//   relError = sqrt(sumSquaredError / sumSquared) (0 when sumSquared is 0).
// Partial sums are combined in a fixed chunk order, so the figures do not depend on the thread count.
// Paths with vector statistics (avx2, avx512*) add in another fixed association: their sums may differ from
// the portable loop's in the last bits; the counts never do.
struct Stats {
  double sumSquaredError = 0;
  double sumSquared = 0;
  uint64_t nonFinite = 0;
  uint64_t overflow = 0;
  uint64_t underflow = 0;

  double RelError() const;
  void Add(const Stats& other);
};

struct Options {
  // Multiplies every value before a narrowing cast, after a widening one (f32 arithmetic, f64 for f64).
  float scale = 1.0f;
  // An index into PathNames(), or -1 for the best one this CPU supports (JOULE_CAST_PATH overrides it).
  int path = -1;
  // How many parts the work is split into; 0 picks from the size (1 for small arrays).
  int threads = 0;
};

// Every path compiled into this build, in order of preference ("scalar" first, the best last).
const std::vector<std::string>& PathNames();
bool PathSupported(int path);
// The path used when Options::path is -1; returns -1 (and sets *error) for a bad JOULE_CAST_PATH.
int DefaultPath(std::string* error = nullptr);
int PathIndex(const std::string& name);

// Converts `count` elements from `input` to `output`. `output` may be null when only statistics are
// wanted; `stats` may be null when they are not. Returns false (with *error set) for an unsupported path.
bool Convert(Direction direction, const void* input, void* output, size_t count, const Options& options,
             Stats* stats, std::string* error = nullptr);

// Copies `bytes` with the same split over the pool as Convert uses: the benchmark's baseline.
void ParallelCopy(const void* source, void* target, size_t bytes, int threads);

// The plain entry points other modules use (best path, automatic threads, no scale, no statistics).
void F32ToBf16(const float* input, uint16_t* output, size_t count);
void F32ToF16(const float* input, uint16_t* output, size_t count);
void Bf16ToF32(const uint16_t* input, float* output, size_t count);
void F16ToF32(const uint16_t* input, float* output, size_t count);
void F64ToF32(const double* input, float* output, size_t count);
void F32ToF64(const float* input, double* output, size_t count);
// output[i] = input[i] * scale; input may equal output. Returns how many inputs were NaN or ±Inf.
uint64_t ScaleF32(const float* input, float* output, size_t count, float scale);

}  // namespace joule::cast
