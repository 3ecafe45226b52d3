#include "trainer/integrations/local_time.h"
#include "trainer/integrations/mlflow/mlflow_tracker.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>

#include "trainer/core/atomic_file.h"
#include "trainer/core/argument_spec.h"
#include "trainer/core/logging.h"
#include "trainer/integrations/mlflow/dagshub.h"
#include "trainer/integrations/mlflow/mlflow_endpoints.h"
#include "trainer/integrations/mlflow/mlflow_params.h"

namespace trainer {
namespace {

namespace fs = std::filesystem;

std::string os_user() {
  if (const char* u = std::getenv("USER"); u && *u) return u;
  if (const char* u = getlogin(); u && *u) return u;
  return "";
}

Json parse_object_or_null(const std::string& text) {
  try {
    Json j = Json::parse(text);
    return j.is_object() ? j : Json();
  } catch (const std::exception&) {
    return nullptr;
  }
}

}  // namespace

MlflowTracker::MlflowTracker(MlflowSettings settings, const TrainingArguments& args, MlflowTrackerOptions options)
    : settings_(std::move(settings)),
      options_(std::move(options)),
      output_dir_(args.output_dir),
      flush_budget_(static_cast<int64_t>(args.tracker_flush_timeout * 1000)) {
  if (!options_.make_endpoint) options_.make_endpoint = make_mlflow_endpoint;
}

MlflowTracker::~MlflowTracker() {
  if (sender_ && !sender_->idle()) {
    const SenderReport r = sender_->finish(flush_budget_);
    if (r.unsent > 0)
      log_warning(options_.display + ": " + std::to_string(r.unsent) + " records are not sent yet; they are kept in " +
                  sender_->journal_path().string() + "; send them with: trainer sync " + output_dir_);
  }
}

// A new run in an output_dir that an earlier run reported from: its journal moves aside (what it
// did not send is still sent by `trainer sync OUTPUT_DIR`, to that earlier run).
void MlflowTracker::set_aside_earlier_journal() {
  if (!fs::exists(dir_ / "journal.jsonl")) return;
  const JournalSummary earlier = RecordJournal::summarize(dir_ / "journal.jsonl");
  fs::path aside;
  for (int i = 1;; ++i) {
    aside = dir_.string() + ".earlier-" + std::to_string(i);
    if (!fs::exists(aside)) break;
  }
  fs::rename(dir_, aside);
  if (earlier.unacked() > 0)
    log_warning(options_.display + ": an earlier run in " + output_dir_ + " left " + std::to_string(earlier.unacked()) +
                " records unsent; they are kept in " + aside.string() + "; send them with: trainer sync " + output_dir_);
}

void MlflowTracker::count_logged_after(int64_t step) {
  RecordJournal::for_each_record(dir_ / "journal.jsonl", [&](const TrackingRecord& r) {
    if (r.type != "metrics") return;
    const int64_t s = field_or<int64_t>(r.body, "step", 0);
    if (s <= step) return;
    for (auto it = r.body["metrics"].begin(); it != r.body["metrics"].end(); ++it) ++already_logged_[{it.key(), s}];
  });
}

void MlflowTracker::start_run(const RunStart& run) {
  output_dir_ = run.output_dir;
  dir_ = fs::path(run.output_dir) / "tracking" / options_.name;
  if (!run.resumed) set_aside_earlier_journal();
  fs::create_directories(dir_);
  Json meta{{"tracker", options_.name}, {"settings", settings_.to_journal_json()}};
  meta.update(options_.journal_extra);
  write_file_atomic(dir_ / "tracker.json", dump_json(meta, {2, false, true}) + "\n", Durability::kSynced);
  SenderOptions sender_options;
  sender_options.resend_command = "trainer sync " + run.output_dir;
  try {
    sender_ = std::make_unique<RecordSender>(options_.display, dir_, options_.make_endpoint(settings_), sender_options);
  } catch (const std::runtime_error& e) {  // a damaged journal: kept aside, a new one started
    const fs::path aside = dir_ / ("journal.damaged-" + std::to_string(unix_time_ms()) + ".jsonl");
    fs::rename(dir_ / "journal.jsonl", aside);
    log_warning(options_.display + ": " + e.what() + "; it is kept as " + aside.string() + " and a new journal starts");
    sender_ = std::make_unique<RecordSender>(options_.display, dir_, options_.make_endpoint(settings_), sender_options);
  }
  if (run.resumed) count_logged_after(run.resume_step);
  model_config_ = parse_object_or_null(run.model_description);

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
  if (settings_.nested) start["parent_run_id"] = settings_.run_id;
  else if (!settings_.run_id.empty()) start["run_id"] = settings_.run_id;
  // The journal lost, the checkpoint kept the run: continue that one.
  if (run.resumed && sender_->run().is_null() && restored_run_.is_object())
    start["run_id"] = field_or<std::string>(restored_run_, "run_id", "");
  sender_->submit("start_run", std::move(start));
}

void MlflowTracker::log_params(const Json& params) {
  if (!options_.log_params || !sender_) return;
  const MlflowParams all = mlflow_params(model_config_, params, settings_.flatten_params, settings_.max_log_params);
  for (size_t i = 0; i < all.size(); i += kMlflowMaxParamsPerBatch) {
    Json chunk = Json::array();
    for (size_t j = i; j < std::min(all.size(), i + kMlflowMaxParamsPerBatch); ++j) chunk.push_back({all[j].first, all[j].second});
    sender_->submit("params", Json{{"params", chunk}});
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
    auto logged = already_logged_.find({it.key(), step});
    if (logged != already_logged_.end() && logged->second > 0) {
      --logged->second;  // the killed process logged it already (same step, same value: exact resume)
      continue;
    }
    metrics[it.key()] = it.value();
  }
  if (!metrics.empty()) sender_->submit("metrics", Json{{"step", step}, {"timestamp", next_timestamp()}, {"metrics", metrics}});
}

// When the values were logged, in milliseconds, and later than the previous log: MLflow's database
// store keeps one point per key, step, value and timestamp, so two logs within one millisecond
// (a step's log and its evaluation both carry `epoch`; a replay logs a whole history at once)
// would otherwise become one point.
int64_t MlflowTracker::next_timestamp() {
  last_timestamp_ = std::max(unix_time_ms(), last_timestamp_ + 1);
  return last_timestamp_;
}

fs::path MlflowTracker::stage(const fs::path& file, const std::string& relative) {
  const fs::path staged = dir_ / "staged" / relative;
  fs::create_directories(staged.parent_path());
  std::error_code ec;
  fs::remove(staged, ec);
  fs::create_hard_link(file, staged, ec);  // checkpoint files are never changed in place: a link is a snapshot
  if (ec) fs::copy_file(file, staged, fs::copy_options::overwrite_existing);
  return staged;
}

void MlflowTracker::log_artifact(const fs::path& dir, const std::string& name) {
  if (!settings_.log_artifacts || !sender_) return;
  for (const auto& entry : fs::recursive_directory_iterator(dir)) {
    if (!entry.is_regular_file()) continue;
    const std::string relative = name + "/" + fs::relative(entry.path(), dir).generic_string();
    sender_->submit("artifact", Json{{"file", stage(entry.path(), relative).string()}, {"artifact_path", relative}});
  }
}

void MlflowTracker::checkpoint_saved() {
  if (sender_) sender_->sync_journal();
}

void MlflowTracker::finish(RunStatus status) {
  if (!sender_) return;
  sender_->submit("end_run", Json{{"status", to_string(status)}, {"end_time", unix_time_ms()}});
  const SenderReport r = sender_->finish(flush_budget_);
  if (r.unsent > 0) {
    log_warning(options_.display + ": " + std::to_string(r.unsent) + " records could not be sent within --tracker_flush_timeout=" +
                python_float_repr(flush_budget_.count() / 1000.0) + " s; they are kept in " +
                sender_->journal_path().string() + "; send them with: trainer sync " + output_dir_);
  } else {
    const Json run = sender_->run();
    log_info(options_.display + ": run " + (run.is_object() ? field_or<std::string>(run, "run_id", "?") : "?") + " " +
             to_string(status) + ", every record delivered" +
             (r.rejected ? " (" + std::to_string(r.rejected) + " refused, kept in " + sender_->rejected_path().string() + ")" : ""));
  }
}

Json MlflowTracker::saved_state() const {
  const Json run = sender_ ? sender_->run() : restored_run_;
  return run.is_object() ? Json{{"run", run}} : Json::object();
}

void MlflowTracker::restore_state(const Json& state) { restored_run_ = state.value("run", Json()); }

namespace {

std::shared_ptr<StatefulTrackerCallback> mlflow_family_callback(const std::string& callback, KeyStyle keys, ValueFilter values,
                                                        MlflowTrackerOptions options, MlflowSettings settings) {
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
  return mlflow_family_callback("MLflowCallback", KeyStyle::mlflow, ValueFilter::numbers, {},
                                MlflowSettings::from_environment("MLflowCallback"));
}

std::shared_ptr<StatefulTrackerCallback> make_azureml_callback() {
  MlflowSettings settings = MlflowSettings::from_environment("AzureMLCallback");
  if (!settings.azureml && settings.store != MlflowStoreKind::rest)
    throw ArgumentError("AzureMLCallback: MLFLOW_TRACKING_URI must be the workspace's azureml:// tracking URI (AzureML jobs set "
                        "it; elsewhere copy it from the workspace's overview page), got '" + settings.tracking_uri + "'");
  MlflowTrackerOptions options;
  options.name = "azure_ml";
  options.display = "AzureML";
  options.log_params = false;  // the original logs metrics only
  // The original passes every int/float, bools included (Python's bool is an int), without rewriting.
  return mlflow_family_callback("AzureMLCallback", KeyStyle::as_logged, ValueFilter::numbers_and_bools, options, settings);
}

std::unique_ptr<RecordSender> mlflow_sender_for_journal(const fs::path& dir, const std::string& output_dir) {
  const Json meta = read_json_file(dir / "tracker.json");
  const std::string tracker = required_field<std::string>(meta, "tracker");
  const MlflowSettings settings = MlflowSettings::from_journal_json(meta.value("settings", Json::object()));
  SenderOptions options;
  options.resend_command = "trainer sync " + output_dir;
  std::unique_ptr<RemoteEndpoint> endpoint =
      tracker == "dagshub" ? std::make_unique<DagsHubEndpoint>(settings, DagsHubRepo::from_journal_json(meta.value("dagshub", Json::object())))
                           : make_mlflow_endpoint(settings);
  return std::make_unique<RecordSender>(tracker, dir, std::move(endpoint), options);
}

}  // namespace trainer
