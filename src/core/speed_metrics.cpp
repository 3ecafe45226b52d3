#include "trainer/core/speed_metrics.h"

#include <cmath>

namespace trainer {
namespace {

double round_to(double v, int digits) {
  const double scale = std::pow(10.0, digits);
  return std::round(v * scale) / scale;
}

}  // namespace

Json speed_metrics(const std::string& split, std::chrono::steady_clock::time_point start, double num_samples,
                   double num_steps) {
  const double runtime = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  Json m = Json::object();
  m[split + "_runtime"] = round_to(runtime, 4);
  if (runtime == 0) return m;
  m[split + "_samples_per_second"] = round_to(num_samples / runtime, 3);
  m[split + "_steps_per_second"] = round_to(num_steps / runtime, 3);
  return m;
}

Json token_speed_metrics(const std::string& split, std::chrono::steady_clock::time_point start, double num_tokens) {
  const double runtime = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  Json m = Json::object();
  m[split + "_runtime"] = round_to(runtime, 4);
  if (runtime == 0) return m;
  m[split + "_tokens_per_second"] = round_to(num_tokens / runtime, 3);
  return m;
}

}  // namespace trainer
