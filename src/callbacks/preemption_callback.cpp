#include "trainer/callbacks/preemption_callback.h"

#include <signal.h>
#include <unistd.h>

#include "trainer/core/logging.h"

namespace trainer {
namespace {

std::atomic<int> g_requested{0};

void handle_signal(int sig) {
  if (sig == SIGINT && g_requested.load() != 0) {
    static const char msg[] = "\ntrainer: second interrupt, aborting without a checkpoint\n";
    (void)!::write(STDERR_FILENO, msg, sizeof msg - 1);
    ::_exit(130);
  }
  g_requested.store(sig);
  static const char msg[] = "\ntrainer: stop requested; finishing the current step and saving a checkpoint "
                            "(interrupt again to abort)\n";
  (void)!::write(STDERR_FILENO, msg, sizeof msg - 1);
}

}  // namespace

void PreemptionCallback::install_signal_handlers() {
  struct sigaction sa {};
  sa.sa_handler = handle_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
}

int PreemptionCallback::requested_signal() { return g_requested.load(); }
void PreemptionCallback::request(int signal_number) { g_requested.store(signal_number); }
void PreemptionCallback::reset() { g_requested.store(0); }

void PreemptionCallback::on_step_end(const Args&, TrainerState&, TrainerControl& control, CallbackContext&) {
  if (g_requested.load() == 0) return;
  control.should_save = true;
  control.should_training_stop = true;
}

}  // namespace trainer
