// Futex wait/wake on 32-bit words in memory shared between processes, plus the CPU's spin hint.
#pragma once

#include <atomic>
#include <cstdint>

namespace joule::comm {

// Sleeps while *word == expected, at most timeoutNs; spurious returns are allowed.
void FutexWait(const std::atomic<uint32_t>* word, uint32_t expected, int64_t timeoutNs);
void FutexWakeAll(const std::atomic<uint32_t>* word);

inline void CpuRelax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

// Monotonic nanoseconds.
int64_t NowNs();

}  // namespace joule::comm
