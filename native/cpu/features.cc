// CPUID/XGETBV feature detection.
#include "cpu/features.h"

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

namespace joule::cpu {
namespace {

#if defined(__x86_64__) || defined(__i386__)
unsigned long long Xgetbv() {
  unsigned int eax = 0, edx = 0;
  __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
  return (static_cast<unsigned long long>(edx) << 32) | eax;
}

Features Probe() {
  Features f;
  unsigned int eax, ebx, ecx, edx;
  if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx)) return f;
  f.sse42 = ecx & (1u << 20);
  bool osxsave = ecx & (1u << 27);
  bool avx_cpu = ecx & (1u << 28);
  unsigned long long xcr0 = osxsave ? Xgetbv() : 0;
  bool ymm_os = (xcr0 & 0x6) == 0x6;
  bool zmm_os = (xcr0 & 0xe6) == 0xe6;
  f.avx = avx_cpu && ymm_os;
  f.fma = f.avx && (ecx & (1u << 12));
  f.f16c = f.avx && (ecx & (1u << 29));
  if (__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx)) {
    f.avx2 = f.avx && (ebx & (1u << 5));
    f.avx512f = zmm_os && (ebx & (1u << 16));
    f.avx512bw = f.avx512f && (ebx & (1u << 30));
    f.avx512vl = f.avx512f && (ebx & (1u << 31));
  }
  if (__get_cpuid_count(7, 1, &eax, &ebx, &ecx, &edx)) f.avx512bf16 = f.avx512f && (eax & (1u << 5));
  return f;
}
#else
Features Probe() {
  Features f;
#if defined(__aarch64__)
  f.neon = true;
#endif
  return f;
}
#endif

}  // namespace

const Features& Detect() {
  static const Features features = Probe();
  return features;
}

std::vector<std::string> Names(const Features& f) {
  std::vector<std::string> names;
  if (f.sse42) names.emplace_back("sse4.2");
  if (f.avx) names.emplace_back("avx");
  if (f.avx2) names.emplace_back("avx2");
  if (f.fma) names.emplace_back("fma");
  if (f.f16c) names.emplace_back("f16c");
  if (f.avx512f) names.emplace_back("avx512f");
  if (f.avx512bw) names.emplace_back("avx512bw");
  if (f.avx512vl) names.emplace_back("avx512vl");
  if (f.avx512bf16) names.emplace_back("avx512_bf16");
  if (f.neon) names.emplace_back("neon");
  return names;
}

}  // namespace joule::cpu
