// Counter arithmetic for the sampler: wraparound and reset handling.
#include "power/counter.h"

namespace joule::power {
namespace {

bool Begin(CounterState* state, unsigned long long raw, double t) {
  if (state->started) return false;
  state->started = true;
  state->last = raw;
  state->lastT = t;
  return true;
}

void Advance(CounterState* state, unsigned long long raw, double t, double joules) {
  double dt = t - state->lastT;
  state->joules += joules;
  if (dt > 0) state->lastPowerW = joules / dt;
  state->last = raw;
  state->lastT = t;
}

}  // namespace

void AccumulateWrapping(CounterState* state, unsigned long long raw, unsigned long long range,
                        double unit_j, double t, double max_power_w) {
  if (Begin(state, raw, t)) return;
  double delta = 0;
  if (raw >= state->last) {
    delta = static_cast<double>(raw - state->last);
  } else {
    delta = static_cast<double>(range - state->last + raw);
    state->wraps++;
  }
  double full_range_j = static_cast<double>(range) * unit_j;
  bool could_wrap_again = (t - state->lastT) * max_power_w > full_range_j;
  if (range > 0 && could_wrap_again && std::isfinite(state->lastPowerW)) {
    double expected = state->lastPowerW * (t - state->lastT) / unit_j;
    double extra = std::floor((expected - delta) / static_cast<double>(range) + 0.5);
    if (extra > 0) {
      delta += extra * static_cast<double>(range);
      state->wraps += static_cast<unsigned long long>(extra);
    }
  }
  Advance(state, raw, t, delta * unit_j);
}

void AccumulateMonotonic(CounterState* state, unsigned long long raw, double unit_j, double t,
                         double fallback_power_w) {
  if (Begin(state, raw, t)) return;
  if (raw < state->last) {
    state->resets++;
    double guess = std::isfinite(fallback_power_w) ? fallback_power_w * (t - state->lastT) : 0;
    Advance(state, raw, t, guess);
    return;
  }
  Advance(state, raw, t, static_cast<double>(raw - state->last) * unit_j);
}

}  // namespace joule::power
