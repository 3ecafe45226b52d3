#pragma once
// CometCallback (`--report_to comet_ml`): the original's Comet integration
// on the tracker layer. See docs/integrations.md.
//   start    an experiment in COMET_WORKSPACE / COMET_PROJECT_NAME named --run_name (or the one
//            COMET_EXPERIMENT_KEY names), its start time, the model's description as its graph,
//            "Created from: transformers" and the tag "transformers"
//   params   {"args": the arguments, "config": the model's configuration} flattened with '|'
//   metrics  each log, keys rewritten (train/loss, eval/loss), at global_step with the epoch;
//            on_predict's metrics too; on resume, what the stopped process logged after the
//            checkpoint is not sent again
//   end      with COMET_LOG_ASSETS the files of output_dir as assets; the end time, the status
//            (log-other "status": FINISHED, FAILED, KILLED), stop
//   online   (COMET_API_KEY set, COMET_START_ONLINE not 0): the REST API v2 through the
//            RecordSender (journal under output_dir/tracking/comet_ml/)
//   offline  the same records in a journal under COMET_OFFLINE_DIRECTORY/<offline key>/, which
//            `trainer sync` sends later

#include <filesystem>
#include <memory>
#include <string>

#include "trainer/integrations/comet/comet_settings.h"
#include "trainer/tracking/remote_tracker.h"
#include "trainer/tracking/tracker_callback.h"

namespace trainer {

class CometTracker : public RemoteTracker {
 public:
  CometTracker(CometSettings settings, const TrainingArguments& args);

  void start_run(const RunStart& run) override;
  void log_params(const Json& params) override;
  void log_metrics(const Json& values, int64_t step) override;
  void predicted(const Json& metrics) override;
  void finish(RunStatus status) override;
  Json saved_state() const override;
  void restore_state(const Json& state) override;

 private:
  std::filesystem::path journal_folder(const RunStart& run) const;
  void submit_metrics(const Json& values, int64_t step);
  void log_output_dir_assets();

  CometSettings settings_;
  Json model_config_;
  int64_t start_time_ = 0;
  bool started_ = false;
  Json restored_ = Json::object();
};

std::shared_ptr<StatefulTrackerCallback> make_comet_callback();
// Whether `--report_to all` adds Comet: only with COMET_API_KEY (else `all` would leave offline
// journals in .cometml-runs/).
bool comet_in_all();
std::unique_ptr<RecordSender> comet_sender_for_journal(const std::filesystem::path& dir, const std::string& output_dir);

}  // namespace trainer
