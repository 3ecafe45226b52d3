#pragma once
// The arguments, state and control of a run that is not running: for driving a callback's events
// by hand in the integration tests.

#include "trainer/core/callback.h"

namespace trainer::testing {

struct FakeRun {
  TrainingArguments args;
  TrainerState state;
  TrainerControl control;
  CallbackContext ctx;

  // One on_log with these logs at this global step.
  void log(TrainerCallback& cb, int64_t step, Json logs) {
    state.global_step = step;
    ctx.logs = &logs;
    cb.on_log(args, state, control, ctx);
    ctx.logs = nullptr;
  }
};

}  // namespace trainer::testing
