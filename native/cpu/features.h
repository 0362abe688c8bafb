// CPU SIMD features read from CPUID at run time, so one binary picks the best path on any x86 CPU.
#pragma once

#include <string>
#include <vector>

namespace joule::cpu {

struct Features {
  bool sse42 = false;
  bool avx = false;
  bool avx2 = false;
  bool fma = false;
  bool f16c = false;
  bool avx512f = false;
  bool avx512bw = false;
  bool avx512vl = false;
  bool avx512bf16 = false;
  bool neon = false;
};

// Detected once; the OS must also have enabled the wider register state (XGETBV), not just the CPU.
const Features& Detect();
std::vector<std::string> Names(const Features& features);

}  // namespace joule::cpu
