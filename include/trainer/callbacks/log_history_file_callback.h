#pragma once
// LogHistoryFileCallback (`--report_to log_history`): every log as a line of
// <output_dir>/log_history.jsonl, and the whole history as log_history.csv (one column per key, the
// step first; rewritten atomically at each log), for people who plot with their own tools. The
// files are written by a BackgroundWriter; only world process zero writes.

#include <memory>
#include <string>

#include "trainer/core/background_writer.h"
#include "trainer/core/callback.h"

namespace trainer {

class LogHistoryFileCallback : public TrainerCallback {
 public:
  // `directory` empty: the run's output_dir.
  explicit LogHistoryFileCallback(std::string directory = "");
  void on_train_begin(const Args& args, TrainerState& state, TrainerControl& control, CallbackContext& ctx) override;
  void on_log(const Args& args, TrainerState& state, TrainerControl& control, CallbackContext& ctx) override;
  void on_train_end(const Args& args, TrainerState& state, TrainerControl& control, CallbackContext& ctx) override;
  BackgroundWriter& writer() { return *writer_; }

 private:
  std::string directory_;
  std::string resolved_;
  std::unique_ptr<BackgroundWriter> writer_;
};

// log_history as CSV: the header is "step" then every other key in sorted order; missing values are
// empty cells; strings are quoted when they need it.
std::string log_history_csv(const Json& log_history);

}  // namespace trainer
