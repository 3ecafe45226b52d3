#include "trainer/integrations/mlflow/mlflow_params.h"

#include "trainer/core/logging.h"
#include "trainer/tracking/log_keys.h"

namespace trainer {

MlflowParams mlflow_params(const Json& model_config, const Json& arguments, bool flatten,
                           std::optional<int64_t> max_params) {
  Json combined = model_config.is_object() ? model_config : Json::object();
  for (auto it = arguments.begin(); it != arguments.end(); ++it) combined[it.key()] = it.value();
  if (flatten) {
    combined = flatten_keys(combined, ".");
  }
  MlflowParams out;
  for (auto it = combined.begin(); it != combined.end(); ++it) {
    std::string value = python_str(it.value());
    if (value.size() > kMlflowMaxParamValueLength) {
      log_warning("MLflowCallback: parameter '" + it.key() + "' is " + std::to_string(value.size()) +
                  " characters long, over MLflow's limit of " + std::to_string(kMlflowMaxParamValueLength) +
                  "; it is not logged (as the original does)");
      continue;
    }
    out.emplace_back(it.key(), std::move(value));
  }
  if (max_params && static_cast<int64_t>(out.size()) > *max_params) out.resize(static_cast<size_t>(*max_params));
  return out;
}

}  // namespace trainer
