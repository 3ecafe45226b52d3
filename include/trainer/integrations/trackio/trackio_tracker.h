#pragma once
// TrackioCallback (`--report_to trackio`): the original's v5 Trackio integration,
// local-first: runs go into the project's SQLite database in
// TRACKIO_DIR (default $HF_HOME/trackio, else ~/.cache/huggingface/trackio), which trackio's own
// dashboard reads (`trackio show --project <project>`). Remote Spaces and buckets are out of scope.
//   project  --project (default huggingface), or TRACKIO_PROJECT (the 4.5x variable)
//   config   the model's configuration overlaid by the arguments, plus model/num_parameters
//   metrics  each log's values, keys rewritten (train/loss), with train/global_step; the
//            single-value metrics (train_runtime, ...) dropped as the original does; on_predict's
//            metrics too. trackio's step: 0, 1, 2, ... per row, continued on resume
//   resume   the run (its id and name) continues; the rows the stopped process wrote after the
//            checkpoint are replaced, and those of the checkpoint's log_history it had not written
//            yet (still queued when it died) are filled in
// All database work is on a BackgroundWriter. A database locked by another process is waited for
// and tried again later; training never waits for it, and at the end the rows get
// --tracker_flush_timeout, after which those left are kept in output_dir/tracking/trackio/ with a warning.

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "trainer/core/background_writer.h"
#include "trainer/integrations/trackio/trackio_database.h"
#include "trainer/tracking/tracker_callback.h"

namespace trainer {

struct TrackioSettings {
  std::string project;        // --project, or TRACKIO_PROJECT
  std::filesystem::path dir;  // TRACKIO_DIR
  static TrackioSettings from_environment(const TrainingArguments& args);
};

class TrackioTracker : public Tracker {
 public:
  TrackioTracker(TrackioSettings settings, const TrainingArguments& args);
  ~TrackioTracker() override;

  void start_run(const RunStart& run) override;
  void log_metrics(const Json& values, int64_t step) override;
  void predicted(const Json& metrics) override;
  void checkpoint_saved() override;
  void finish(RunStatus status) override;
  Json saved_state() const override;
  void restore_state(const Json& state) override;
  // Waits until what was logged so far has been tried (written, or still waiting for a busy database).
  void flush();

 private:
  static Json row_of(const Json& values, int64_t step);
  void backfill_from_log_history();
  void add_row(Json metrics);
  // On the writer thread: everything pending in one transaction, waiting for a busy database
  // until `deadline`; rows stay pending when it is still busy.
  void write_pending(std::chrono::steady_clock::time_point deadline);
  void try_write();
  void keep_unwritten();

  TrackioSettings settings_;
  std::string output_dir_;
  std::chrono::milliseconds flush_budget_;
  bool started_ = false;
  std::string run_id_, run_name_;
  int64_t next_step_ = 0;
  Json restored_ = Json::object();
  // Touched only on the writer thread once the run has started:
  std::unique_ptr<TrackioDatabase> db_;
  TrackioWrite pending_;
  bool warned_busy_ = false;
  std::unique_ptr<BackgroundWriter> writer_;  // last: it goes first, running what is queued
};

std::shared_ptr<StatefulTrackerCallback> make_trackio_callback();
// `--report_to all` adds trackio only when TRACKIO_DIR says where its databases go.
bool trackio_in_all();

}  // namespace trainer
