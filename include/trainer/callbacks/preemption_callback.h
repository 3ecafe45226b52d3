#pragma once
// PreemptionCallback: turns SIGTERM or SIGINT into "finish the current optimizer step, save a
// checkpoint, stop". A second SIGINT exits at once with status 130. The `trainer` program adds it
// and exits with status 4 after a preemption, printing how to resume.

#include <atomic>
#include <stdexcept>

#include "trainer/core/callback.h"

namespace trainer {

// Thrown out of an evaluation or prediction outside training (a final evaluation) when SIGTERM or
// SIGINT asked to stop: there is no step to finish and nothing to save, so it stops at once.
class StopRequested : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class PreemptionCallback : public TrainerCallback {
 public:
  // Installs the SIGTERM and SIGINT handlers (process-wide; call once). SIGXFSZ (a file over
  // `ulimit -f`) is ignored, so such a write fails with an error like a full disk instead of killing
  // the process mid-save.
  static void install_signal_handlers();
  // The signal that asked for the stop, or 0.
  static int requested_signal();
  // For tests and embedding applications with their own signal handling.
  static void request(int signal_number);
  static void reset();

  void on_train_begin(const Args& args, TrainerState& state, TrainerControl& control, CallbackContext& ctx) override;
  void on_step_end(const Args& args, TrainerState& state, TrainerControl& control, CallbackContext& ctx) override;
  void on_prediction_step(const Args& args, TrainerState& state, TrainerControl& control,
                          CallbackContext& ctx) override;
  void on_train_end(const Args& args, TrainerState& state, TrainerControl& control, CallbackContext& ctx) override;
};

}  // namespace trainer
