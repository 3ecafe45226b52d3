#pragma once
// CodeCarbon 3.3's estimates where no hardware counter exists, as pure functions.

#include <cstdint>

namespace trainer {

// The generic TDP CodeCarbon falls back on when the CPU is not in its table (W).
constexpr double kDefaultCpuTdpWatts = 85.0;
// CodeCarbon's world-average carbon intensity (g CO2eq / kWh).
constexpr double kWorldAverageGramsPerKwh = 475.0;

// Machine mode: P = TDP * (0.1 + 0.9 * (load/100)^3), load in percent of the whole machine.
double cpu_load_power_watts(double tdp_watts, double load_percent);
// Process mode: P = TDP * (CPU seconds of the process / wall seconds) / CPU count.
double cpu_process_power_watts(double tdp_watts, double cpu_seconds, double wall_seconds, int cpu_count);

// CodeCarbon's DIMM count for a machine with this much memory.
int estimated_dimm_count(double total_gb);
// RAM power: 5 W a DIMM for the first 4 (1.5 W on ARM), then 90%, 80%, 70% of that for the next
// 4, 8 and the rest; at least 10 W (3 W on ARM).
double ram_power_watts(double total_gb, bool arm = false);

// Joules to kWh, as CodeCarbon converts.
inline double joules_to_kwh(double joules) { return joules / 3.6e6; }

}  // namespace trainer
