// The vector type and the per-instruction-set cloning the training kernels share: one plain C++ source,
// compiled by GCC/Clang for x86-64-v4 (AVX-512), v3 (AVX2+FMA) and the baseline, picked at load time.
#pragma once

#include <cstring>

// Vec16 values never cross a call boundary (the helpers below are always inlined), so the note that
// their ABI differs between instruction sets does not apply.
#pragma GCC diagnostic ignored "-Wpsabi"

namespace joule::train {

// Sixteen floats: one AVX-512 register, two AVX2 or four SSE registers in the lower clones.
typedef float Vec16 __attribute__((vector_size(64)));
constexpr int kLanes = 16;

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define JOULE_TRAIN_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define JOULE_TRAIN_CLONES
#endif
// Helpers are forced inline so that they are compiled for the instruction set of the clone calling them.
#define JOULE_TRAIN_INLINE inline __attribute__((always_inline))

JOULE_TRAIN_INLINE Vec16 Load16(const float* p) {
  Vec16 v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

JOULE_TRAIN_INLINE void Store16(float* p, const Vec16& v) { std::memcpy(p, &v, sizeof v); }

JOULE_TRAIN_INLINE Vec16 Broadcast16(float s) { return Vec16{} + s; }

}  // namespace joule::train
