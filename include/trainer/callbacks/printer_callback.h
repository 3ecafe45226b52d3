#pragma once
// PrinterCallback: prints each log as one line (used with --disable_tqdm). Floats use 4 significant
// digits; total_flos is removed from the shared logs, as in the original.

#include <cstdio>
#include <string>

#include "trainer/core/callback.h"

namespace trainer {

// Formats logs as the original prints them: {'loss': 0.5123, 'learning_rate': 4.5e-05, 'epoch': 0.1}
// Strings longer than max_str_len are replaced by a note giving their length.
std::string format_logs(const Json& logs, size_t max_str_len = 100);

class PrinterCallback : public TrainerCallback {
 public:
  explicit PrinterCallback(std::FILE* out = stdout) : out_(out) {}
  void on_log(const Args& args, TrainerState& state, TrainerControl& control, CallbackContext& ctx) override;

 private:
  std::FILE* out_;
};

}  // namespace trainer
