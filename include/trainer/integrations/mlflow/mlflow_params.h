#pragma once
// The run's parameters as the original's MLflowCallback logs them: the model's configuration
// overlaid by the arguments, optionally flattened (MLFLOW_FLATTEN_PARAMS), each value rendered as
// Python's str() renders it (None, True, 5e-05, ['tensorboard']), values longer than MLflow's limit
// dropped with a warning, cut to MLFLOW_MAX_LOG_PARAMS.

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "trainer/core/json.h"

namespace trainer {

inline constexpr size_t kMlflowMaxParamValueLength = 6000;
inline constexpr size_t kMlflowMaxParamsPerBatch = 100;
inline constexpr size_t kMlflowMaxMetricsPerBatch = 1000;
inline constexpr size_t kMlflowMaxTagsPerBatch = 100;
inline constexpr size_t kMlflowMaxEntitiesPerBatch = 1000;
inline constexpr size_t kMlflowMaxBatchBytes = 1000000;
inline constexpr size_t kMlflowMaxKeyLength = 250;
inline constexpr size_t kMlflowMaxTagValueLength = 5000;

using MlflowParams = std::vector<std::pair<std::string, std::string>>;

// `model_config` may be null (no configuration) or an object.
MlflowParams mlflow_params(const Json& model_config, const Json& arguments, bool flatten,
                           std::optional<int64_t> max_params);

}  // namespace trainer
