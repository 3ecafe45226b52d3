#pragma once
// ProgressCallback: progress bars for training, evaluation and prediction, drawn on world
// process zero. Logs made during training are written above the bar with floats at 4 significant
// digits; strings longer than max_str_len are replaced by a note (the original's intent).

#include <cstdio>
#include <memory>

#include "trainer/callbacks/progress_bar.h"
#include "trainer/core/callback.h"

namespace trainer {

class ProgressCallback : public TrainerCallback {
 public:
  // `interactive`: redraw in place; by default when `out` is a terminal. `min_interval_s`: the
  // shortest gap between plain lines when not interactive (TRAINER_PROGRESS_INTERVAL overrides).
  explicit ProgressCallback(size_t max_str_len = 100, std::FILE* out = stderr, int interactive = -1,
                            double min_interval_s = 30.0);

  void on_train_begin(const Args&, TrainerState&, TrainerControl&, CallbackContext&) override;
  void on_step_end(const Args&, TrainerState&, TrainerControl&, CallbackContext&) override;
  void on_prediction_step(const Args&, TrainerState&, TrainerControl&, CallbackContext&) override;
  void on_evaluate(const Args&, TrainerState&, TrainerControl&, CallbackContext&) override;
  void on_predict(const Args&, TrainerState&, TrainerControl&, CallbackContext&) override;
  void on_log(const Args&, TrainerState&, TrainerControl&, CallbackContext&) override;
  void on_train_end(const Args&, TrainerState&, TrainerControl&, CallbackContext&) override;

 private:
  size_t max_str_len_;
  std::FILE* out_;
  bool interactive_;
  double min_interval_s_;
  std::unique_ptr<ProgressBar> training_bar_;
  std::unique_ptr<ProgressBar> prediction_bar_;
  int64_t current_step_ = 0;
};

}  // namespace trainer
