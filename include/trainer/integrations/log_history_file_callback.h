#pragma once
// LogHistoryFileCallback (`--report_to log_history`): every log as a line of
// <output_dir>/log_history.jsonl, and the whole history as log_history.csv (one column per key, the
// step first), for people who plot with their own tools. A log appends a line to each; the CSV is
// rewritten (atomically) only when a log brings a new column. The files are written by a
// BackgroundWriter; only world process zero writes.

#include <memory>
#include <set>
#include <string>

#include "trainer/core/background_writer.h"
#include "trainer/core/callback.h"

namespace trainer {

class LogHistoryFileCallback : public TrainerCallback {
 public:
  // `directory` empty: the run's output_dir.
  explicit LogHistoryFileCallback(std::string directory = "");
  ~LogHistoryFileCallback() override;
  void on_train_begin(const Args& args, TrainerState& state, TrainerControl& control, CallbackContext& ctx) override;
  void on_log(const Args& args, TrainerState& state, TrainerControl& control, CallbackContext& ctx) override;
  void on_train_end(const Args& args, TrainerState& state, TrainerControl& control, CallbackContext& ctx) override;
  BackgroundWriter& writer() { return *writer_; }

 private:
  void start(const Args& args, const Json& history);

  std::string directory_;
  struct Files;
  std::shared_ptr<Files> files_;  // used by writer_'s jobs only
  std::unique_ptr<BackgroundWriter> writer_;
};

// log_history as CSV: the header is "step" then every other key in sorted order; missing values are
// empty cells; strings are quoted when they need it.
std::string log_history_csv(const Json& log_history);
// The same with the given columns ("step" first whether or not it is among them).
std::string log_history_csv(const Json& log_history, const std::set<std::string>& columns);

}  // namespace trainer
