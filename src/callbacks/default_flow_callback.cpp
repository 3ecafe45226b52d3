#include "trainer/callbacks/default_flow_callback.h"

#include "trainer/core/json.h"
#include "trainer/core/trainer_control.h"
#include "trainer/core/trainer_state.h"
#include "trainer/core/training_arguments.h"

namespace trainer {

void DefaultFlowCallback::on_step_end(const Args& args, TrainerState& state, TrainerControl& control,
                                      CallbackContext&) {
  const int64_t step = state.global_step;
  if (step == 1 && args.logging_first_step) control.should_log = true;
  if (args.logging_strategy == IntervalStrategy::steps && state.logging_steps > 0 && step % state.logging_steps == 0)
    control.should_log = true;
  const bool eval_due =
      args.eval_strategy == IntervalStrategy::steps && state.eval_steps > 0 && step % state.eval_steps == 0;
  if (eval_due && args.eval_delay <= static_cast<double>(step)) control.should_evaluate = true;
  if (args.save_strategy == SaveStrategy::steps && state.save_steps > 0 && step % state.save_steps == 0)
    control.should_save = true;
  if (step >= state.max_steps) {
    control.should_training_stop = true;
    // Always keep the final model with the steps strategy.
    if (args.save_strategy == SaveStrategy::steps) control.should_save = true;
    // A run whose last step falls between evaluation points still ends with one evaluation.
    if (args.eval_strategy == IntervalStrategy::steps && !eval_due && args.eval_delay <= static_cast<double>(step))
      control.should_evaluate = true;
  }
}

void DefaultFlowCallback::on_epoch_end(const Args& args, TrainerState& state, TrainerControl& control,
                                       CallbackContext&) {
  if (args.logging_strategy == IntervalStrategy::epoch) control.should_log = true;
  if (args.eval_strategy == IntervalStrategy::epoch && args.eval_delay <= state.epoch) control.should_evaluate = true;
  if (args.save_strategy == SaveStrategy::epoch) control.should_save = true;
}

}  // namespace trainer
