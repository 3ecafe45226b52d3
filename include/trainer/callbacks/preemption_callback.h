#pragma once
// PreemptionCallback: turns SIGTERM or SIGINT into "finish the current optimizer step, save a
// checkpoint, stop". A second SIGINT exits at once with status 130. The `trainer` program adds it
// and exits with status 4 after a preemption, printing how to resume.

#include <atomic>

#include "trainer/core/callback.h"

namespace trainer {

class PreemptionCallback : public TrainerCallback {
 public:
  // Installs the SIGTERM and SIGINT handlers (process-wide; call once).
  static void install_signal_handlers();
  // The signal that asked for the stop, or 0.
  static int requested_signal();
  // For tests and embedding applications with their own signal handling.
  static void request(int signal_number);
  static void reset();

  void on_step_end(const Args& args, TrainerState& state, TrainerControl& control, CallbackContext& ctx) override;
};

}  // namespace trainer
