// Convert: picks the path, splits the array over the pool, and gathers statistics chunk by chunk right
// after converting each chunk (while it is still in L1), so the statistics cost no extra memory pass.
#include "cast/convert.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>

#include "cast/kernels.h"
#include "cast/pool.h"
#include "cast/scalar.h"
#include "settings.h"

namespace joule::cast {
namespace {

using detail::PathKernels;

// Elements per statistics chunk: the chunk and its converted copy stay in L1 together.
constexpr size_t kChunk = 2048;
// Below this many bytes (read + written) one thread is faster than waking the pool.
constexpr size_t kParallelBytes = size_t{1} << 20;
constexpr size_t kBytesPerThread = size_t{512} << 10;

const std::vector<const PathKernels*>& Table() {
  static const std::vector<const PathKernels*> table = {
      &detail::ScalarPath(),
#if defined(__x86_64__)
      &detail::Avx2Path(),
      // VCVTNEPS2BF16 plus its denormal fix-up measured slower than integer rounding on AVX-512 (60 vs
      // 48 ns per 1024 elements on an EPYC with avx512_bf16), so the integer path is preferred.
      &detail::Avx512Bf16Path(),
      &detail::Avx512Path(),
#endif
  };
  return table;
}

int BestSupported() {
  const auto& table = Table();
  for (int i = static_cast<int>(table.size()) - 1; i > 0; --i) {
    if (table[i]->supported()) return i;
  }
  return 0;
}

int AutoParts(size_t bytes) {
  if (bytes < kParallelBytes) return 1;
  return static_cast<int>(std::max<size_t>(1, std::min<size_t>(PoolWidth(), bytes / kBytesPerThread)));
}

inline double Widen(float value) { return value; }
inline double Widen(double value) { return value; }


// Four partial sums (element i into sum i % 4) shorten the chain of dependent additions; the
// association is fixed, so the figures are the same on every path and thread count.
constexpr int kLanes = 4;

template <typename Source, typename Target, typename ReadSource, typename ReadTarget>
void Accumulate(const void* input, const void* output, size_t count, double scale, ReadSource read_source,
                ReadTarget read_target, Stats* stats) {
  auto* in = static_cast<const Source*>(input);
  auto* out = static_cast<const Target*>(output);
  double squared_error[kLanes] = {};
  double squared[kLanes] = {};
  Stats s;
  for (size_t i = 0; i < count; ++i) {
    double x = read_source(in[i]);
    if (!std::isfinite(x)) {
      ++s.nonFinite;
      continue;
    }
    double c = read_target(out[i]);
    if (std::isinf(c)) {
      ++s.overflow;
      continue;
    }
    double r = x * scale;
    s.underflow += (c == 0) & (r != 0);
    double e = r - c;
    squared_error[i % kLanes] += e * e;
    squared[i % kLanes] += r * r;
  }
  for (int k = 0; k < kLanes; ++k) {
    s.sumSquaredError += squared_error[k];
    s.sumSquared += squared[k];
  }
  *stats = s;
}

void ChunkStats(Direction direction, const void* in, const void* out, size_t count, double scale, Stats* stats) {
  auto f32 = [](float v) { return Widen(v); };
  auto f64 = [](double v) { return v; };
  auto bf16 = [](uint16_t v) { return Widen(Bf16ToF32(v)); };
  auto f16 = [](uint16_t v) { return Widen(F16ToF32(v)); };
  switch (direction) {
    case Direction::kF32ToBf16: return Accumulate<float, uint16_t>(in, out, count, scale, f32, bf16, stats);
    case Direction::kF32ToF16: return Accumulate<float, uint16_t>(in, out, count, scale, f32, f16, stats);
    case Direction::kBf16ToF32: return Accumulate<uint16_t, float>(in, out, count, scale, bf16, f32, stats);
    case Direction::kF16ToF32: return Accumulate<uint16_t, float>(in, out, count, scale, f16, f32, stats);
    case Direction::kF64ToF32: return Accumulate<double, float>(in, out, count, scale, f64, f32, stats);
    case Direction::kF32ToF64: return Accumulate<float, double>(in, out, count, scale, f32, f64, stats);
    case Direction::kF32ToF32: return Accumulate<float, float>(in, out, count, scale, f32, f32, stats);
    case Direction::kCount: break;
  }
}

const unsigned char* Advance(const void* base, size_t bytes) { return static_cast<const unsigned char*>(base) + bytes; }
unsigned char* Advance(void* base, size_t bytes) { return static_cast<unsigned char*>(base) + bytes; }

}  // namespace

size_t SourceBytes(Direction direction) {
  switch (direction) {
    case Direction::kBf16ToF32:
    case Direction::kF16ToF32: return 2;
    case Direction::kF64ToF32: return 8;
    default: return 4;
  }
}

size_t TargetBytes(Direction direction) {
  switch (direction) {
    case Direction::kF32ToBf16:
    case Direction::kF32ToF16: return 2;
    case Direction::kF32ToF64: return 8;
    default: return 4;
  }
}

double Stats::RelError() const { return sumSquared > 0 ? std::sqrt(sumSquaredError / sumSquared) : 0.0; }

void Stats::Add(const Stats& other) {
  sumSquaredError += other.sumSquaredError;
  sumSquared += other.sumSquared;
  nonFinite += other.nonFinite;
  overflow += other.overflow;
  underflow += other.underflow;
}

const std::vector<std::string>& PathNames() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> out;
    for (const auto* path : Table()) out.emplace_back(path->name);
    return out;
  }();
  return names;
}

bool PathSupported(int path) {
  return path >= 0 && path < static_cast<int>(Table().size()) && Table()[path]->supported();
}

int PathIndex(const std::string& name) {
  const auto& names = PathNames();
  auto it = std::find(names.begin(), names.end(), name);
  return it == names.end() ? -1 : static_cast<int>(it - names.begin());
}

int DefaultPath(std::string* error) {
  // Read once: the variable is for forcing a path in tests and benchmarks, not for switching mid-run.
  static const std::string forced = Setting("JOULE_CAST_PATH", "");
  if (forced.empty()) return BestSupported();
  int index = PathIndex(forced);
  if (index < 0 || !PathSupported(index)) {
    if (error) {
      *error = "JOULE_CAST_PATH=" + forced + (index < 0 ? " is not a cast path" : " is not supported by this CPU");
    }
    return -1;
  }
  return index;
}

bool Convert(Direction direction, const void* input, void* output, size_t count, const Options& options,
             Stats* stats, std::string* error) {
  int path = options.path >= 0 ? options.path : DefaultPath(error);
  if (path < 0) return false;
  if (!PathSupported(path)) {
    if (error) {
      *error = path < static_cast<int>(Table().size())
                   ? "cast path " + PathNames()[path] + " is not supported by this CPU"
                   : "no cast path " + std::to_string(path);
    }
    return false;
  }
  const detail::Kernel kernel = Table()[path]->kernels[static_cast<int>(direction)];
  const detail::StatsKernel stats_kernel = Table()[path]->stats[static_cast<int>(direction)];
  const size_t source_bytes = SourceBytes(direction);
  const size_t target_bytes = TargetBytes(direction);
  const float scale = options.scale;
  int parts = options.threads > 0 ? options.threads : AutoParts(count * (source_bytes + target_bytes));

  if (stats == nullptr) {
    if (output == nullptr || count == 0) return true;
    // Part boundaries on 64 elements keep every part's vectors whole and its stores cache-line aligned.
    size_t per_part = ((count + parts - 1) / parts + 63) & ~size_t{63};
    if (parts <= 1 || per_part >= count) {
      kernel(input, output, count, scale);
      return true;
    }
    ParallelFor(parts, [&](int part) {
      size_t begin = per_part * part;
      if (begin >= count) return;
      size_t end = std::min(count, begin + per_part);
      kernel(Advance(input, begin * source_bytes), Advance(output, begin * target_bytes), end - begin, scale);
    });
    return true;
  }

  // With statistics each chunk goes to a scratch buffer first: the statistics need the input after the
  // output is written, and in-place f32 scaling would have overwritten it.
  const size_t chunks = (count + kChunk - 1) / kChunk;
  std::vector<Stats> partial(chunks);
  parts = static_cast<int>(std::max<size_t>(1, std::min<size_t>(parts, chunks)));
  ParallelFor(parts, [&](int part) {
    alignas(64) unsigned char scratch[kChunk * sizeof(double)];
    size_t first = chunks * part / parts;
    size_t last = chunks * (part + 1) / parts;
    for (size_t c = first; c < last; ++c) {
      size_t begin = c * kChunk;
      size_t length = std::min(kChunk, count - begin);
      const void* in = Advance(input, begin * source_bytes);
      kernel(in, scratch, length, scale);
      size_t done = stats_kernel ? stats_kernel(in, scratch, length, scale, &partial[c]) : 0;
      Stats rest;
      ChunkStats(direction, Advance(in, done * source_bytes), scratch + done * target_bytes, length - done, scale, &rest);
      partial[c].Add(rest);
      if (output != nullptr) std::memcpy(Advance(output, begin * target_bytes), scratch, length * target_bytes);
    }
  });
  // Summed in chunk order whatever the split, so the figures do not depend on the thread count.
  Stats total;
  for (const auto& s : partial) total.Add(s);
  *stats = total;
  return true;
}

void ParallelCopy(const void* source, void* target, size_t bytes, int threads) {
  int parts = threads > 0 ? threads : AutoParts(2 * bytes);
  size_t per_part = ((bytes + parts - 1) / parts + 255) & ~size_t{255};
  if (parts <= 1 || per_part >= bytes) {
    std::memcpy(target, source, bytes);
    return;
  }
  ParallelFor(parts, [&](int part) {
    size_t begin = per_part * part;
    if (begin >= bytes) return;
    size_t end = std::min(bytes, begin + per_part);
    std::memcpy(Advance(target, begin), Advance(source, begin), end - begin);
  });
}

namespace {

void Plain(Direction direction, const void* input, void* output, size_t count) {
  Options options;
  options.path = DefaultPath();
  if (options.path < 0) options.path = BestSupported();
  Convert(direction, input, output, count, options, nullptr);
}

}  // namespace

void F32ToBf16(const float* input, uint16_t* output, size_t count) { Plain(Direction::kF32ToBf16, input, output, count); }
void F32ToF16(const float* input, uint16_t* output, size_t count) { Plain(Direction::kF32ToF16, input, output, count); }
void Bf16ToF32(const uint16_t* input, float* output, size_t count) { Plain(Direction::kBf16ToF32, input, output, count); }
void F16ToF32(const uint16_t* input, float* output, size_t count) { Plain(Direction::kF16ToF32, input, output, count); }
void F64ToF32(const double* input, float* output, size_t count) { Plain(Direction::kF64ToF32, input, output, count); }
void F32ToF64(const float* input, double* output, size_t count) { Plain(Direction::kF32ToF64, input, output, count); }

uint64_t ScaleF32(const float* input, float* output, size_t count, float scale) {
  Options options;
  options.scale = scale;
  options.path = DefaultPath();
  if (options.path < 0) options.path = BestSupported();
  Stats stats;
  Convert(Direction::kF32ToF32, input, output, count, options, &stats);
  return stats.nonFinite;
}

}  // namespace joule::cast
