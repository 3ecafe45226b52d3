#include "trainer/callbacks/early_stopping_callback.h"

#include <cmath>
#include <stdexcept>

#include "trainer/core/argument_spec.h"
#include "trainer/core/json.h"
#include "trainer/core/logging.h"
#include "trainer/core/trainer_control.h"
#include "trainer/core/trainer_state.h"
#include "trainer/core/training_arguments.h"

namespace trainer {

EarlyStoppingCallback::EarlyStoppingCallback(int64_t patience, double threshold)
    : patience_(patience), threshold_(threshold) {
  if (patience < 1)
    throw ArgumentError("--early_stopping_patience: must be >= 1 (the evaluations without improvement to wait), got " +
                        std::to_string(patience));
  if (!(threshold >= 0))
    throw ArgumentError("--early_stopping_threshold: must be >= 0, got " + python_float_repr(threshold));
}

void EarlyStoppingCallback::on_train_begin(const Args& args, TrainerState&, TrainerControl&, CallbackContext&) {
  if (!args.metric_for_best_model)
    throw ArgumentError(
        "--metric_for_best_model: early stopping needs the metric it watches; set it (e.g. loss or "
        "accuracy), or --load_best_model_at_end, which watches the loss");
  if (args.eval_strategy == IntervalStrategy::no)
    throw ArgumentError("--eval_strategy: early stopping needs evaluations; set it to steps or epoch");
  if (!args.load_best_model_at_end)
    log_warning(
        "EarlyStoppingCallback is used without --load_best_model_at_end: training stops early, "
        "but the model kept is the last one, not the best");
}

void EarlyStoppingCallback::on_evaluate(const Args& args, TrainerState& state, TrainerControl& control,
                                        CallbackContext& ctx) {
  if (!ctx.metrics || !args.metric_for_best_model) return;
  const std::string key = args.best_metric_key();
  if (!ctx.metrics->contains(key) || !(*ctx.metrics)[key].is_number()) {
    log_warning("early stopping required metric_for_best_model, but did not find " + key +
                " so early stopping is disabled");
    return;
  }
  const double value = (*ctx.metrics)[key].get<double>();
  const bool greater = args.greater_is_better.value_or(true);
  bool improved = !state.best_metric.has_value();
  if (!improved) {
    const double best = *state.best_metric;
    const bool better = greater ? value > best : value < best;
    improved = better && std::fabs(value - best) > threshold_;
  }
  counter_ = improved ? 0 : counter_ + 1;
  if (counter_ >= patience_ && !control.should_training_stop) {
    control.should_training_stop = true;
    log_message(LogLevel::warning, "Early stopping: " + key + " did not improve by more than " +
                                       python_float_repr(threshold_) + " for " + std::to_string(counter_) +
                                       " evaluation" + (counter_ == 1 ? "" : "s") + " (best " +
                                       python_float_repr(*state.best_metric) + "); stopping at step " +
                                       std::to_string(state.global_step) + " of " + std::to_string(state.max_steps));
  }
}

Json EarlyStoppingCallback::state() const {
  return Json{{"args", {{"early_stopping_patience", patience_}, {"early_stopping_threshold", threshold_}}},
              {"attributes", {{"early_stopping_patience_counter", counter_}}}};
}

void EarlyStoppingCallback::load_state(const Json& s) {
  const Json& a = s.at("args");
  patience_ = a.value("early_stopping_patience", patience_);
  threshold_ = a.value("early_stopping_threshold", threshold_);
  counter_ = s.at("attributes").value("early_stopping_patience_counter", int64_t{0});
}

}  // namespace trainer
