#include "trainer/core/best_metric.h"

#include <cmath>
#include <string>

#include "trainer/core/argument_spec.h"
#include "trainer/core/trainer_state.h"
#include "trainer/core/training_arguments.h"

namespace trainer {

bool update_best_metric(const TrainingArguments& args, TrainerState& state, const Json& metrics) {
  if (!args.metric_for_best_model) return false;
  const std::string key = args.best_metric_key();
  if (!metrics.contains(key) || !metrics[key].is_number()) {
    std::string keys;
    for (auto it = metrics.begin(); it != metrics.end(); ++it) keys += (keys.empty() ? "" : ", ") + it.key();
    throw ArgumentError("--metric_for_best_model: the evaluation metrics have no key '" + key +
                        "' (available: " + keys + "); choose one of them");
  }
  const double value = metrics[key].get<double>();
  const bool greater = args.greater_is_better.value_or(true);
  const double best = state.best_metric.value_or(greater ? -HUGE_VAL : HUGE_VAL);
  if (!(greater ? value > best : value < best)) return false;
  state.best_metric = value;
  state.best_global_step = state.global_step;
  return true;
}

}  // namespace trainer
