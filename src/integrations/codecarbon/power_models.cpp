#include "integrations/codecarbon/power_models.h"

#include <algorithm>
#include <cmath>

namespace trainer {

double cpu_load_power_watts(double tdp_watts, double load_percent) {
  const double load = std::clamp(load_percent, 0.0, 100.0) / 100.0;
  return tdp_watts * (0.1 + 0.9 * load * load * load);
}

double cpu_process_power_watts(double tdp_watts, double cpu_seconds, double wall_seconds, int cpu_count) {
  if (wall_seconds <= 0 || cpu_count <= 0) return 0.0;
  return tdp_watts * (cpu_seconds / wall_seconds) / cpu_count;
}

int estimated_dimm_count(double total_gb) {
  if (total_gb <= 2) return 1;
  if (total_gb <= 16) return 2;
  if (total_gb <= 64) return 4;
  if (total_gb <= 128) return 8;
  // Larger machines: the largest common DIMM size that gives at least 8 DIMMs.
  double dimm_gb = 8;
  for (double size : {128.0, 64.0, 32.0, 16.0, 8.0})
    if (size <= total_gb / 8) {
      dimm_gb = size;
      break;
    }
  return std::min(32, static_cast<int>(std::ceil(total_gb / dimm_gb)));
}

double ram_power_watts(double total_gb, bool arm) {
  const int n = estimated_dimm_count(total_gb);
  const double per_dimm = arm ? 1.5 : 5.0;
  double watts = per_dimm * std::min(n, 4);
  watts += 0.9 * per_dimm * std::clamp(n - 4, 0, 4);
  watts += 0.8 * per_dimm * std::clamp(n - 8, 0, 8);
  watts += 0.7 * per_dimm * std::max(n - 16, 0);
  return std::max(watts, arm ? 3.0 : 10.0);
}

}  // namespace trainer
