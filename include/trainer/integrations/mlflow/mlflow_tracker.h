#pragma once
// MLflowCallback (`--report_to mlflow`), AzureMLCallback (`azure_ml`) and DagsHubCallback
// (`dagshub`): the original's MLflow integrations on the tracker layer, sending through the
// RecordSender (journal under output_dir/tracking/<name>/). See docs/integrations.md.
//   start   the run: MLFLOW_EXPERIMENT_NAME / _ID, MLFLOW_RUN_ID (log into it; with
//           MLFLOW_NESTED_RUN a child of it), the run name, MLFLOW_TAGS and MLflow's context tags
//   params  the model's configuration overlaid by the arguments, rendered as Python's str(), in
//           batches of 100 (not on resume: MLflow refuses a parameter logged again with another value)
//   metrics each log's numbers at global_step, keys sanitised as v5 does, timestamps taken when
//           logged (each log at least 1 ms after the previous); on resume, what the earlier process already logged
//           after the checkpoint is skipped
//   artifacts each published checkpoint under checkpoint-N/ with HF_MLFLOW_LOG_ARTIFACTS
//   end     FINISHED, FAILED or KILLED

#include <filesystem>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <utility>

#include "trainer/integrations/mlflow/mlflow_settings.h"
#include "trainer/tracking/record_sender.h"
#include "trainer/tracking/remote_tracker.h"
#include "trainer/tracking/tracker.h"
#include "trainer/tracking/tracker_callback.h"

namespace trainer {

struct MlflowTrackerOptions {
  std::string name = "mlflow";  // the journal's folder under output_dir/tracking/, and messages
  std::string display = "MLflow";
  bool log_params = true;  // AzureML's original logs metrics only
  std::function<std::unique_ptr<RemoteEndpoint>(const MlflowSettings&)> make_endpoint;  // default: make_mlflow_endpoint
  Json journal_extra = Json::object();  // more of what `trainer sync` needs, in tracker.json (no secrets)
};

class MlflowTracker : public RemoteTracker {
 public:
  MlflowTracker(MlflowSettings settings, const TrainingArguments& args, MlflowTrackerOptions options = {});

  void start_run(const RunStart& run) override;
  void log_params(const Json& params) override;
  void log_metrics(const Json& values, int64_t step) override;
  void log_artifact(const std::filesystem::path& dir, const std::string& name) override;
  void finish(RunStatus status) override;

 protected:
  MlflowSettings settings_;
  MlflowTrackerOptions options_;

 private:
  Json model_config_;
  std::set<std::string> warned_keys_;
};

// The callbacks the registry makes. They read the environment now: a bad value throws
// ArgumentError naming the variable.
// MLflow's rule for metric names (v5): characters outside [0-9A-Za-z_-. :/] become '_'.
std::string mlflow_metric_key(const std::string& key);

std::shared_ptr<StatefulTrackerCallback> make_mlflow_callback();
std::shared_ptr<StatefulTrackerCallback> make_azureml_callback();
std::shared_ptr<StatefulTrackerCallback> make_dagshub_callback();

// The sender for a journal folder left by one of these trackers (`trainer sync`), from its
// tracker.json and the credentials of the environment.
std::unique_ptr<RecordSender> mlflow_sender_for_journal(const std::filesystem::path& dir,
                                                        const std::string& output_dir);

}  // namespace trainer
