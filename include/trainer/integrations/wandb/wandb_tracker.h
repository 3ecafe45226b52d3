#pragma once
// WandbCallback (`--report_to wandb`): the original's W&B integration
// on the tracker layer. See docs/integrations.md.
//   config   the model's configuration overlaid by the arguments, plus model/num_parameters
//   history  each log, keys rewritten (train/loss, eval/loss), with train/global_step and the
//            SDK's _step, _runtime, _timestamp; on_predict's metrics too
//   summary  the last value of every key, and the single-value scalars (train_runtime, ...)
//   online   (WANDB_API_KEY set): GraphQL UpsertBucket and the run's file stream, through the
//            RecordSender (journal under output_dir/tracking/wandb/)
//   offline  (WANDB_MODE=offline, or no key): the SDK's offline run folder for `wandb sync`, and
//            the same journal, unsent, for `trainer sync OUTPUT_DIR`
//   models   WANDB_LOG_MODEL=checkpoint|end: offline, model artifacts in the .wandb log (for
//            `wandb sync`); online (and in the journal), the checkpoint's files as run files
//   exit     when the tracker goes (the end of the process, as the SDK): 0, 1 after a failure,
//            143 after SIGTERM/SIGINT

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "trainer/core/background_writer.h"
#include "trainer/integrations/wandb/wandb_settings.h"
#include "trainer/tracking/remote_tracker.h"
#include "trainer/tracking/tracker_callback.h"

namespace trainer {

class WandbOfflineRun;
struct WandbArtifact;

class WandbTracker : public RemoteTracker {
 public:
  WandbTracker(WandbSettings settings, const TrainingArguments& args);
  ~WandbTracker() override;

  void start_run(const RunStart& run) override;
  void log_metrics(const Json& values, int64_t step) override;
  void predicted(const Json& metrics) override;
  void log_artifact(const std::filesystem::path& dir, const std::string& name) override;
  void checkpoint_saved() override;
  void finish(RunStatus status) override;
  Json saved_state() const override;
  void restore_state(const Json& state) override;

 private:
  std::string choose_run_id(const RunStart& run) const;
  void write_history(Json row);
  void write_summary(const Json& changed);
  void log_files(const std::vector<std::pair<std::filesystem::path, std::string>>& files);
  Json numeric_summary() const;
  void log_model_artifact(WandbArtifact artifact, const std::string& folder);
  void log_base_model(const RunStart& run);
  std::vector<std::pair<std::filesystem::path, std::string>> final_model_files(Json* metadata) const;
  void log_final_model();
  void write_exit();
  double runtime() const;

  WandbSettings settings_;
  std::unique_ptr<WandbOfflineRun> offline_;
  std::unique_ptr<BackgroundWriter> writer_;  // writes offline_ off the training thread; goes first
  bool started_ = false;
  bool exited_ = false;
  std::string run_id_;
  int64_t next_step_ = 0;      // W&B's _step: one per history row, continued on resume
  double runtime_before_ = 0;  // seconds of the run before this process (resume)
  std::chrono::steady_clock::time_point started_at_;
  Json summary_ = Json::object();
  int exit_code_ = 0;
  Json restored_ = Json::object();
  std::string artifact_name_;  // model-<run id>, or model-<run name> when the run has a name
  Json num_parameters_;
  // WANDB_LOG_MODEL=end: the newest checkpoint's staged files and their names inside it
  std::vector<std::pair<std::filesystem::path, std::string>> last_checkpoint_;
};

// The callback the registry makes; reads the environment now (a bad value throws ArgumentError).
std::shared_ptr<StatefulTrackerCallback> make_wandb_callback();
// Whether `--report_to all` adds W&B: only when the environment says where runs go (WANDB_API_KEY
// or WANDB_MODE), so that `all` does not leave a wandb/ folder in the working directory.
bool wandb_in_all();
std::unique_ptr<RecordSender> wandb_sender_for_journal(const std::filesystem::path& dir, const std::string& output_dir);

}  // namespace trainer
