#include "trainer/callbacks/early_stopping_callback.h"

#include <cmath>
#include <stdexcept>

#include "trainer/core/logging.h"

namespace trainer {

EarlyStoppingCallback::EarlyStoppingCallback(int64_t patience, double threshold) : patience_(patience), threshold_(threshold) {
  if (patience < 1) throw std::invalid_argument("EarlyStoppingCallback: early_stopping_patience must be >= 1");
  if (threshold < 0) throw std::invalid_argument("EarlyStoppingCallback: early_stopping_threshold must be >= 0");
}

void EarlyStoppingCallback::on_train_begin(const Args& args, TrainerState&, TrainerControl&, CallbackContext&) {
  if (!args.load_best_model_at_end)
    log_warning("EarlyStoppingCallback is used without --load_best_model_at_end: training stops early, "
                "but the model kept is the last one, not the best");
  if (!args.metric_for_best_model)
    throw std::invalid_argument("EarlyStoppingCallback needs --metric_for_best_model (e.g. loss or accuracy)");
  if (args.eval_strategy == "no")
    throw std::invalid_argument("EarlyStoppingCallback needs evaluations: set --eval_strategy steps or epoch");
}

void EarlyStoppingCallback::on_evaluate(const Args& args, TrainerState& state, TrainerControl& control, CallbackContext& ctx) {
  if (!ctx.metrics || !args.metric_for_best_model) return;
  std::string key = *args.metric_for_best_model;
  if (key.rfind("eval_", 0) != 0) key = "eval_" + key;
  if (!ctx.metrics->contains(key) || !(*ctx.metrics)[key].is_number()) {
    log_warning("early stopping required metric_for_best_model, but did not find " + key + " so early stopping is disabled");
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
  if (counter_ >= patience_) control.should_training_stop = true;
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
