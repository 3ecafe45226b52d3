#pragma once
// The original's speed_metrics(): {split}_runtime rounded to 4 decimals, and the samples and steps
// per second rounded to 3 (left out when the runtime is 0).

#include <chrono>
#include <string>

#include "trainer/core/json.h"

namespace trainer {

Json speed_metrics(const std::string& split, std::chrono::steady_clock::time_point start, double num_samples,
                   double num_steps);
// The original's speed_metrics(split, start, num_tokens=n): {split}_runtime and {split}_tokens_per_second.
Json token_speed_metrics(const std::string& split, std::chrono::steady_clock::time_point start, double num_tokens);

}  // namespace trainer
