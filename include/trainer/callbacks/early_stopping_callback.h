#pragma once
// EarlyStoppingCallback: stops training after `early_stopping_patience` evaluations in a row without
// an improvement of metric_for_best_model larger than `early_stopping_threshold`. Its patience
// counter is saved in checkpoints (stateful_callbacks).

#include "trainer/core/callback.h"

namespace trainer {

class EarlyStoppingCallback : public TrainerCallback, public ExportableState {
 public:
  explicit EarlyStoppingCallback(int64_t early_stopping_patience = 1, double early_stopping_threshold = 0.0);

  // Throws std::invalid_argument when --metric_for_best_model is unset or --eval_strategy is no.
  void on_train_begin(const Args& args, TrainerState& state, TrainerControl& control, CallbackContext& ctx) override;
  void on_evaluate(const Args& args, TrainerState& state, TrainerControl& control, CallbackContext& ctx) override;

  Json state() const override;
  void load_state(const Json& state) override;

  int64_t patience() const { return patience_; }
  double threshold() const { return threshold_; }
  int64_t patience_counter() const { return counter_; }

 private:
  int64_t patience_;
  double threshold_;
  int64_t counter_ = 0;
};

}  // namespace trainer
