#include "trainer/callbacks/preemption_callback.h"

#include <signal.h>
#include <unistd.h>

#include <string>

#include "trainer/core/json.h"
#include "trainer/core/logging.h"
#include "trainer/core/trainer_control.h"
#include "trainer/core/trainer_state.h"
#include "trainer/core/training_arguments.h"

namespace trainer {
namespace {

std::atomic<int> g_requested{0};
std::atomic<bool> g_training{false};  // inside train(): a stop finishes the step and saves

void handle_signal(int sig) {
  if (sig == SIGINT && g_requested.load() != 0) {
    static const char msg[] = "\ntrainer: second interrupt, aborting without a checkpoint\n";
    (void)!::write(STDERR_FILENO, msg, sizeof msg - 1);
    ::_exit(130);
  }
  g_requested.store(sig);
  static const char in_training[] =
      "\ntrainer: stop requested; finishing the current step and saving a checkpoint "
      "(interrupt again to abort)\n";
  static const char outside[] = "\ntrainer: stop requested; stopping\n";
  if (g_training.load())
    (void)!::write(STDERR_FILENO, in_training, sizeof in_training - 1);
  else
    (void)!::write(STDERR_FILENO, outside, sizeof outside - 1);
}

}  // namespace

void PreemptionCallback::install_signal_handlers() {
  struct sigaction sa {};
  sa.sa_handler = handle_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
  ::signal(SIGXFSZ, SIG_IGN);
}

int PreemptionCallback::requested_signal() { return g_requested.load(); }
void PreemptionCallback::request(int signal_number) { g_requested.store(signal_number); }
void PreemptionCallback::reset() { g_requested.store(0); }

void PreemptionCallback::on_train_begin(const Args&, TrainerState&, TrainerControl&, CallbackContext&) {
  g_training.store(true);
}

void PreemptionCallback::on_train_end(const Args&, TrainerState&, TrainerControl&, CallbackContext&) {
  g_training.store(false);
}

void PreemptionCallback::on_prediction_step(const Args&, TrainerState& state, TrainerControl&, CallbackContext&) {
  // In training, the stop waits for the end of the step (the evaluation finishes first).
  if (g_training.load() || g_requested.load() == 0) return;
  throw StopRequested(std::string("stopped by ") + (g_requested.load() == SIGTERM ? "SIGTERM" : "SIGINT") +
                      " during an evaluation after training (step " + std::to_string(state.global_step) +
                      "); training had finished and its checkpoints are complete; the evaluation was not finished");
}

void PreemptionCallback::on_step_end(const Args&, TrainerState&, TrainerControl& control, CallbackContext&) {
  if (g_requested.load() == 0) return;
  control.should_save = true;
  control.should_training_stop = true;
}

}  // namespace trainer
