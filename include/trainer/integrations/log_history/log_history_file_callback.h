#pragma once
// LogHistoryFileCallback (`--report_to log_history`): every log as a line of
// <output_dir>/log_history.jsonl, and the whole history as log_history.csv (one column per key, the
// step first), for people who plot with their own tools. A log appends a line to each; the CSV is
// rewritten (atomically) only when a log brings a new column. The files are written by a
// BackgroundWriter; only world process zero writes (the tracker layer's gating).

#include <memory>
#include <set>
#include <string>

#include "trainer/core/background_writer.h"
#include "trainer/tracking/tracker_callback.h"

namespace trainer {

class LogHistoryFileCallback : public TrackerCallback {
 public:
  // `directory` empty: the run's output_dir.
  explicit LogHistoryFileCallback(std::string directory = "");
  ~LogHistoryFileCallback() override;
  BackgroundWriter& writer() { return *writer_; }

 private:
  LogHistoryFileCallback(std::string directory, std::shared_ptr<BackgroundWriter> writer);
  std::shared_ptr<BackgroundWriter> writer_;  // shared with the tracker, which may outlive this part
};

// log_history as CSV: the header is "step" then every other key in sorted order; missing values are
// empty cells; strings are quoted when they need it.
std::string log_history_csv(const Json& log_history);
// The same with the given columns ("step" first whether or not it is among them).
std::string log_history_csv(const Json& log_history, const std::set<std::string>& columns);

}  // namespace trainer
