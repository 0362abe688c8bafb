// Turns raw energy counters (RAPL µJ that wrap, NVML mJ that can reset) into energy since the first read.
#pragma once

#include <cmath>

namespace joule::power {

struct CounterState {
  bool started = false;
  unsigned long long last = 0;  // the last raw value
  double lastT = 0;             // when it was read (CLOCK_MONOTONIC seconds)
  double joules = 0;            // accumulated since the first read
  double lastPowerW = NAN;      // mean power over the last interval: the guess for a long gap
  unsigned long long wraps = 0;
  unsigned long long resets = 0;
};

// A counter that wraps to 0 after `range` units of `unit_j` joules (RAPL: µJ, max_energy_range_uj).
// One wrap shows as a decrease; more wraps between two reads are invisible in the value, so only when
// the gap was long enough for a full range at `max_power_w` does the last interval's power decide how
// many full ranges went by (the sampler's period keeps that from happening unless it stalls).
void AccumulateWrapping(CounterState* state, unsigned long long raw, unsigned long long range,
                        double unit_j, double t, double max_power_w);

// A counter that only grows (NVML total energy, mJ); a decrease means the driver reloaded, counted as
// a reset, and that interval's energy is `fallback_power_w` × its length (0 when unknown).
void AccumulateMonotonic(CounterState* state, unsigned long long raw, double unit_j, double t,
                         double fallback_power_w);

}  // namespace joule::power
