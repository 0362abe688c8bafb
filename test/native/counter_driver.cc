// Test driver for native/power/counter.h: reads readings from stdin, prints the counter state after each,
// so a mocha test can check wrap and reset arithmetic on exact, scripted sequences.
//   wrap <raw> <range> <unit_j> <t> <max_power_w>   AccumulateWrapping
//   grow <raw> <unit_j> <t> <fallback_power_w>      AccumulateMonotonic ("nan" for no fallback)
// Output per line: <joules> <wraps> <resets>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>

#include "power/counter.h"

int main() {
  joule::power::CounterState state;
  std::string op;
  while (std::cin >> op) {
    if (op == "wrap") {
      unsigned long long raw = 0, range = 0;
      double unit = 0, t = 0, max_power = 0;
      std::cin >> raw >> range >> unit >> t >> max_power;
      joule::power::AccumulateWrapping(&state, raw, range, unit, t, max_power);
    } else if (op == "grow") {
      unsigned long long raw = 0;
      double unit = 0, t = 0;
      std::string fallback;
      std::cin >> raw >> unit >> t >> fallback;
      joule::power::AccumulateMonotonic(&state, raw, unit, t, std::strtod(fallback.c_str(), nullptr));
    } else {
      std::cerr << "unknown operation " << op << "\n";
      return 2;
    }
    std::printf("%.9f %llu %llu\n", state.joules, state.wraps, state.resets);
  }
  return 0;
}
