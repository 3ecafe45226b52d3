#include "trainer/callbacks/progress_callback.h"

#include <cstdlib>

#include "trainer/callbacks/printer_callback.h"
#include "trainer/core/data_loader.h"
#include "trainer/core/json.h"
#include "trainer/core/trainer_control.h"
#include "trainer/core/trainer_state.h"
#include "trainer/core/training_arguments.h"

namespace trainer {

ProgressCallback::ProgressCallback(size_t max_str_len, std::FILE* out, int interactive, double min_interval_s)
    : max_str_len_(max_str_len),
      out_(out),
      interactive_(interactive < 0 ? is_terminal(out) : interactive != 0),
      min_interval_s_(min_interval_s) {
  if (const char* env = std::getenv("TRAINER_PROGRESS_INTERVAL")) {
    char* end = nullptr;
    double v = std::strtod(env, &end);
    if (end != env && v >= 0) min_interval_s_ = v;
  }
}

void ProgressCallback::on_train_begin(const Args&, TrainerState& state, TrainerControl&, CallbackContext&) {
  if (state.is_world_process_zero)
    training_bar_ = std::make_unique<ProgressBar>("train", state.max_steps, out_, interactive_, min_interval_s_);
  current_step_ = 0;
}

void ProgressCallback::on_step_end(const Args&, TrainerState& state, TrainerControl&, CallbackContext&) {
  if (state.is_world_process_zero && training_bar_) {
    training_bar_->update(state.global_step - current_step_);
    current_step_ = state.global_step;
  }
}

void ProgressCallback::on_prediction_step(const Args&, TrainerState& state, TrainerControl&, CallbackContext& ctx) {
  if (!state.is_world_process_zero || !ctx.eval_dataloader) return;
  if (!prediction_bar_) {
    // Made at the end of the first batch, which it counts as done before it started (so that batch's
    // time, unknown here, does not give a rate of millions of batches a second). During training the
    // evaluation bar disappears when done; on its own it stays.
    prediction_bar_ = std::make_unique<ProgressBar>("eval", ctx.eval_dataloader->num_batches(), out_, interactive_,
                                                    min_interval_s_, /*leave=*/training_bar_ == nullptr, /*initial=*/1);
    return;
  }
  prediction_bar_->update(1);
}

void ProgressCallback::on_evaluate(const Args&, TrainerState& state, TrainerControl&, CallbackContext&) {
  if (state.is_world_process_zero && prediction_bar_) prediction_bar_.reset();
}

void ProgressCallback::on_predict(const Args&, TrainerState& state, TrainerControl&, CallbackContext&) {
  if (state.is_world_process_zero && prediction_bar_) prediction_bar_.reset();
}

void ProgressCallback::on_log(const Args&, TrainerState& state, TrainerControl&, CallbackContext& ctx) {
  if (!state.is_world_process_zero || !training_bar_ || !ctx.logs) return;
  Json shown = *ctx.logs;
  shown.erase("total_flos");
  training_bar_->write(format_logs(shown, max_str_len_));
}

void ProgressCallback::on_train_end(const Args&, TrainerState& state, TrainerControl&, CallbackContext&) {
  if (state.is_world_process_zero && training_bar_) {
    training_bar_->close();
    training_bar_.reset();
  }
}

}  // namespace trainer
