#include "trainer/integrations/mlflow/mlflow_tracker.h"

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdlib>

#include "integrations/mlflow/dagshub.h"
#include "integrations/mlflow/mlflow_file_endpoint.h"
#include "integrations/mlflow/mlflow_rest_endpoint.h"
#include "trainer/core/argument_spec.h"
#include "trainer/core/atomic_file.h"
#include "trainer/core/local_time.h"
#include "trainer/core/logging.h"
#include "trainer/core/random_id.h"
#include "trainer/integrations/mlflow/mlflow_params.h"

namespace trainer {
namespace {

namespace fs = std::filesystem;

std::string os_user() {
  if (const char* u = std::getenv("USER"); u && *u) return u;
  if (const char* u = getlogin(); u && *u) return u;
  return "";
}

}  // namespace

MlflowTracker::MlflowTracker(MlflowSettings settings, const TrainingArguments& args, MlflowTrackerOptions options)
    : RemoteTracker(options.name, options.display, args), settings_(std::move(settings)), options_(std::move(options)) {
  if (!options_.make_endpoint) options_.make_endpoint = make_mlflow_endpoint;
}

void MlflowTracker::start_run(const RunStart& run) {
  Json meta{{"settings", settings_.to_journal_json()}};
  meta.update(options_.journal_extra);
  open_journal(run, meta, [this] { return options_.make_endpoint(settings_); });
  model_config_ = run.model_config();

  Json tags = settings_.tags;
  tags["mlflow.user"] = os_user();
  tags["mlflow.source.name"] = "trainer";
  tags["mlflow.source.type"] = "LOCAL";
  Json start{{"run_name", run.run_name},
             {"start_time", unix_time_ms()},
             {"user_id", os_user()},
             {"tags", tags},
             {"experiment_name", settings_.experiment_name},
             {"experiment_id", settings_.experiment_id}};
  if (settings_.nested)
    start["parent_run_id"] = settings_.run_id;
  else if (!settings_.run_id.empty())
    start["run_id"] = settings_.run_id;
  // The journal lost, the checkpoint kept the run: continue that one.
  if (run.resumed && sender_->run().is_null() && restored_run().is_object())
    start["run_id"] = field_or<std::string>(restored_run(), "run_id", "");
  if (field_or<std::string>(start, "run_id", "").empty())
    start["run_key"] = random_hex(32);  // a new run: see kMlflowRunKeyTag
  submit("start_run", std::move(start));
}

void MlflowTracker::log_params(const Json& params) {
  if (!options_.log_params || !sender_) return;
  const MlflowParams all = mlflow_params(model_config_, params, settings_.flatten_params, settings_.max_log_params);
  for (size_t i = 0; i < all.size(); i += kMlflowMaxParamsPerBatch) {
    Json chunk = Json::array();
    for (size_t j = i; j < std::min(all.size(), i + kMlflowMaxParamsPerBatch); ++j)
      chunk.push_back({all[j].first, all[j].second});
    submit("params", Json{{"params", chunk}});
  }
}

void MlflowTracker::log_metrics(const Json& values, int64_t step) {
  if (!sender_) return;
  Json metrics = Json::object();
  for (auto it = values.begin(); it != values.end(); ++it) {
    if (it.key().size() > kMlflowMaxKeyLength) {
      if (warned_keys_.insert(it.key()).second)
        log_warning(options_.display + ": metric name '" + it.key().substr(0, 40) + "...' is longer than MLflow's " +
                    std::to_string(kMlflowMaxKeyLength) + " characters; it is not logged");
      continue;
    }
    if (logged_before(it.key(), step)) continue;  // the stopped process did (same step, same value: exact resume)
    metrics[it.key()] = it.value();
  }
  if (!metrics.empty()) submit("metrics", Json{{"step", step}, {"timestamp", next_timestamp()}, {"metrics", metrics}});
}

void MlflowTracker::log_artifact(const fs::path& dir, const std::string& name) {
  if (!settings_.log_artifacts || !sender_) return;
  for (const auto& entry : fs::recursive_directory_iterator(dir)) {
    if (!entry.is_regular_file()) continue;
    const std::string relative = name + "/" + fs::relative(entry.path(), dir).generic_string();
    submit("artifact", Json{{"file", stage(entry.path(), relative).string()}, {"artifact_path", relative}});
  }
}

void MlflowTracker::finish(RunStatus status) {
  if (!sender_) return;
  submit("end_run", Json{{"status", to_string(status)}, {"end_time", unix_time_ms()}});
  const Json run = sender_->run();
  finish_sending("run " + (run.is_object() ? field_or<std::string>(run, "run_id", "?") : "?") + " " +
                 to_string(status));
}

namespace {

bool mlflow_name_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.' || c == ' ' || c == ':' ||
         c == '/';
}

}  // namespace

std::string mlflow_metric_key(const std::string& key) {
  std::string out = key;
  for (char& c : out)
    if (!mlflow_name_char(c)) c = '_';
  return out;
}

namespace {

std::shared_ptr<StatefulTrackerCallback> mlflow_family_callback(const std::string& callback, KeyRule keys,
                                                                ValueFilter values, MlflowTrackerOptions options,
                                                                MlflowSettings settings) {
  TrackerTraits traits;
  traits.callback_name = callback;
  traits.keys = keys;
  traits.values = values;
  traits.artifacts = settings.log_artifacts;
  return std::make_shared<StatefulTrackerCallback>(traits, [settings, options](const TrainingArguments& args) {
    return std::make_unique<MlflowTracker>(settings, args, options);
  });
}

}  // namespace

std::shared_ptr<StatefulTrackerCallback> make_mlflow_callback() {
  return mlflow_family_callback("MLflowCallback", mlflow_metric_key, ValueFilter::numbers, {},
                                MlflowSettings::from_environment("MLflowCallback"));
}

std::shared_ptr<StatefulTrackerCallback> make_azureml_callback() {
  MlflowSettings settings = MlflowSettings::from_environment("AzureMLCallback");
  if (!settings.azureml && settings.store != MlflowStoreKind::rest)
    throw ArgumentError(
        "AzureMLCallback: MLFLOW_TRACKING_URI must be the workspace's azureml:// tracking URI (AzureML jobs set "
        "it; elsewhere copy it from the workspace's overview page), got '" +
        settings.tracking_uri + "'");
  MlflowTrackerOptions options;
  options.name = "azure_ml";
  options.display = "AzureML";
  options.log_params = false;  // the original logs metrics only
  // The original passes every int/float, bools included (Python's bool is an int), without rewriting.
  return mlflow_family_callback("AzureMLCallback", nullptr, ValueFilter::numbers_and_bools, options, settings);
}

std::unique_ptr<RecordSender> mlflow_sender_for_journal(const fs::path& dir, const std::string& output_dir) {
  return sender_for_journal_folder(dir, output_dir, [](const Json& meta) -> std::unique_ptr<RemoteEndpoint> {
    const MlflowSettings settings = MlflowSettings::from_journal_json(meta.value("settings", Json::object()));
    if (required_field<std::string>(meta, "tracker") == "dagshub")
      return std::make_unique<DagsHubEndpoint>(settings,
                                               DagsHubRepo::from_journal_json(meta.value("dagshub", Json::object())));
    return make_mlflow_endpoint(settings);
  });
}

}  // namespace trainer
