#pragma once
// DefaultFlowCallback: turns the logging/evaluation/save strategies and max_steps into control
// flags. Always the first callback, so later callbacks see and may override its decisions.

#include "trainer/core/callback.h"

namespace trainer {

class DefaultFlowCallback : public TrainerCallback {
 public:
  void on_step_end(const Args& args, TrainerState& state, TrainerControl& control, CallbackContext&) override;
  void on_epoch_end(const Args& args, TrainerState& state, TrainerControl& control, CallbackContext&) override;
};

}  // namespace trainer
