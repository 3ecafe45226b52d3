#pragma once
// ReportCallback (`--report_to report`): keeps <output_dir>/report.html (see html_report.h) up to
// date while training runs: at the start, after every evaluation, after a log or a save when the
// page is older than `min_interval_seconds`, and at the end. Each version replaces the previous
// one atomically, so a browser never reads half a page. Only world process zero writes; rendering
// and writing happen on the callback's BackgroundWriter.

#include <chrono>
#include <memory>
#include <string>

#include "trainer/core/background_writer.h"
#include "trainer/core/callback.h"

namespace trainer {

class ReportCallback : public TrainerCallback {
 public:
  explicit ReportCallback(double min_interval_seconds = 10.0);

  void on_train_begin(const Args& args, TrainerState& state, TrainerControl& control, CallbackContext& ctx) override;
  void on_log(const Args& args, TrainerState& state, TrainerControl& control, CallbackContext& ctx) override;
  void on_evaluate(const Args& args, TrainerState& state, TrainerControl& control, CallbackContext& ctx) override;
  void on_save(const Args& args, TrainerState& state, TrainerControl& control, CallbackContext& ctx) override;
  void on_train_end(const Args& args, TrainerState& state, TrainerControl& control, CallbackContext& ctx) override;
  BackgroundWriter& writer() { return *writer_; }
  int64_t reports_queued() const { return queued_; }

 private:
  void write(const Args& args, const TrainerState& state);

  double min_interval_;
  bool running_ = false;
  int64_t queued_ = 0;
  std::chrono::steady_clock::time_point last_{};
  std::unique_ptr<BackgroundWriter> writer_;
};

}  // namespace trainer
