#pragma once
// How trackers name the keys of a log, as the original's integrations name them.

#include <string>

#include "trainer/core/json.h"

namespace trainer {

// The original's rewrite_logs (TensorBoard, W&B, Comet, ...): eval_X -> eval/X, test_X -> test/X,
// any other key K -> train/K. Only the first prefix is rewritten.
std::string rewrite_log_key(const std::string& key);

// The original's "single-value scalars" (W&B, SwanLab, Trackio, ClearML): train_runtime,
// train_samples_per_second, train_steps_per_second, train_loss, total_flos, logged once at the end
// of training into a run's summary rather than its history.
bool is_single_value_scalar(const std::string& key);

// Nested objects flattened into one level, their keys joined by `separator` ({"a": {"b": 1}} ->
// {"a.b": 1} with "."): MLflow's MLFLOW_FLATTEN_PARAMS, Comet's parameters.
Json flatten_keys(const Json& object, const std::string& separator);

}  // namespace trainer
