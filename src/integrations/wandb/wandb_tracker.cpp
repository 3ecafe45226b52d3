#include "trainer/integrations/wandb/wandb_tracker.h"

#include <algorithm>
#include <cmath>

#include "integrations/wandb/wandb_endpoint.h"
#include "integrations/wandb/wandb_offline_run.h"
#include "trainer/core/argument_spec.h"
#include "trainer/core/atomic_file.h"
#include "trainer/core/environment.h"
#include "trainer/core/file_snapshot.h"
#include "trainer/core/local_time.h"
#include "trainer/core/logging.h"
#include "trainer/core/random_id.h"
#include "trainer/core/trainer_control.h"
#include "trainer/core/trainer_state.h"
#include "trainer/core/training_arguments.h"
#include "trainer/tracking/log_keys.h"

namespace trainer {
namespace {

namespace fs = std::filesystem;

int exit_code_for(RunStatus status) {
  switch (status) {
    case RunStatus::finished: return 0;
    case RunStatus::failed: return 1;
    case RunStatus::killed: return 143;  // 128 + SIGTERM, as a shell reports a terminated process
  }
  return 1;
}

}  // namespace

WandbTracker::WandbTracker(WandbSettings settings, const TrainingArguments& args)
    : RemoteTracker("wandb", "W&B", args), settings_(std::move(settings)) {}

WandbTracker::~WandbTracker() {
  try {
    write_exit();
  } catch (const std::exception& e) {
    log_warning("W&B: " + std::string(e.what()));
  }
}

std::string WandbTracker::choose_run_id(const RunStart& run) const {
  const std::string restored = field_or<std::string>(restored_, "run_id", "");
  if (run.resumed && !restored.empty() && settings_.resume != WandbResume::never) return restored;
  return settings_.run_id.empty() ? random_id(8) : settings_.run_id;
}

void WandbTracker::start_run(const RunStart& run) {
  if (settings_.mode == WandbMode::disabled) {
    log_info("W&B: WANDB_MODE=disabled, nothing is logged");
    return;
  }
  run_id_ = choose_run_id(run);
  const bool continues = run_id_ == field_or<std::string>(restored_, "run_id", "");
  if (continues) {
    next_step_ = field_or<int64_t>(restored_, "step", 0);
    runtime_before_ = field_or<double>(restored_, "runtime", 0.0);
    summary_ = restored_.value("summary", Json::object());
  }
  started_at_ = std::chrono::steady_clock::now();
  const bool offline = settings_.mode == WandbMode::offline;
  sender_options_.offline = offline;
  sender_options_.heartbeat_interval = std::chrono::seconds(30);
  const WandbSettings settings = settings_;
  open_journal(run, Json{{"settings", settings_.to_journal_json()}, {"mode", to_string(settings_.mode)}},
               [settings] { return std::make_unique<WandbEndpoint>(settings); });

  WandbRunInfo info;
  info.run_id = run_id_;
  info.entity = settings_.entity;
  info.project = settings_.project;
  info.display_name = !settings_.name.empty() ? settings_.name : run.run_name != run.output_dir ? run.run_name : "";
  info.group = settings_.group;
  info.job_type = settings_.job_type;
  info.notes = settings_.notes;
  info.tags = settings_.tags;
  info.host = host_name();
  info.config = run.combined_config();
  info.start_time_ms = unix_time_ms();
  info.resumed = continues;
  info.starting_step = next_step_;
  submit("upsert_run", Json{{"run_id", info.run_id},
                            {"entity", info.entity},
                            {"project", info.project},
                            {"group", info.group},
                            {"display_name", info.display_name},
                            {"notes", info.notes},
                            {"job_type", info.job_type},
                            {"tags", info.tags},
                            {"config", info.config},
                            {"host", info.host}});
  if (offline) {
    offline_ = std::make_unique<WandbOfflineRun>(wandb_data_dir(settings_.root_dir), info);
    writer_ = std::make_unique<BackgroundWriter>("wandb");
  }
  started_ = true;
  artifact_name_ = "model-" + (info.display_name.empty() ? run_id_ : info.display_name);
  num_parameters_ = info.config.value("model/num_parameters", Json());
  if (offline_ && settings_.log_model != WandbLogModel::none && !continues) log_base_model(run);
  if (settings_.log_model != WandbLogModel::none && !offline)
    log_warning(std::string("W&B: WANDB_LOG_MODEL=") +
                (settings_.log_model == WandbLogModel::end ? "end" : "checkpoint") +
                " online: the checkpoint's files are logged as the run's files (under " +
                (settings_.log_model == WandbLogModel::end ? "final_model/" : "checkpoint-N/") +
                "), not as a model artifact (this client does not implement the online artifact API); "
                "WANDB_MODE=offline logs " +
                artifact_name_ + " as a model artifact that `wandb sync` uploads");
  log_info("W&B: run " + run_id_ +
           (offline ? " offline in " + offline_->dir().string() : " online at " + settings_.base_url));
}

double WandbTracker::runtime() const {
  return runtime_before_ + std::chrono::duration<double>(std::chrono::steady_clock::now() - started_at_).count();
}

void WandbTracker::write_history(Json row) {
  row["_step"] = next_step_;
  row["_runtime"] = runtime();
  row["_timestamp"] = unix_time_ms() / 1000.0;
  submit("history", Json{{"offset", next_step_}, {"row", row}});
  if (offline_) writer_->enqueue([this, row] { offline_->history(row); });
  ++next_step_;
  write_summary(row);
}

void WandbTracker::write_summary(const Json& changed) {
  if (changed.empty()) return;
  for (auto it = changed.begin(); it != changed.end(); ++it) summary_[it.key()] = it.value();
  submit("summary", Json{{"summary", summary_}});
  if (offline_) writer_->enqueue([this, changed] { offline_->summary(changed); });
}

void WandbTracker::log_metrics(const Json& values, int64_t step) {
  if (!started_ || values.empty()) return;
  Json row = Json::object();
  Json singles = Json::object();
  for (auto it = values.begin(); it != values.end(); ++it) {
    if (is_single_value_scalar(it.key()))
      singles[it.key()] = it.value();
    else
      row[rewrite_log_key(it.key())] = it.value();
  }
  if (!row.empty()) {
    row["train/global_step"] = step;
    write_history(std::move(row));
  }
  write_summary(singles);
}

void WandbTracker::predicted(const Json& metrics) {
  if (!started_ || metrics.empty()) return;
  Json row = Json::object();
  for (auto it = metrics.begin(); it != metrics.end(); ++it) row[rewrite_log_key(it.key())] = it.value();
  write_history(std::move(row));
}

void WandbTracker::log_files(const std::vector<std::pair<fs::path, std::string>>& files) {
  Json list = Json::array();
  for (const auto& [file, name] : files) list.push_back({{"file", stage(file, name).string()}, {"name", name}});
  for (size_t i = 0; i < list.size(); i += 100) {  // CreateRunFiles takes a list; keep each request modest
    Json chunk(list.begin() + static_cast<std::ptrdiff_t>(i),
               list.begin() + static_cast<std::ptrdiff_t>(std::min(list.size(), i + 100)));
    submit("files", Json{{"files", chunk}});
  }
}

// The original's artifact metadata: the numeric summary values whose keys do not start with '_'.
Json WandbTracker::numeric_summary() const {
  Json metadata = Json::object();
  for (auto it = summary_.begin(); it != summary_.end(); ++it)
    if (it.value().is_number() && !it.key().empty() && it.key()[0] != '_') metadata[it.key()] = it.value();
  return metadata;
}

// The model artifact of the offline run: its files linked now (a checkpoint may be rotated away
// soon), their digests and the record written off the training thread.
void WandbTracker::log_model_artifact(WandbArtifact artifact, const std::string& folder) {
  auto staged = std::make_shared<WandbArtifact>(offline_->stage_artifact(std::move(artifact), folder));
  writer_->enqueue([this, staged] { offline_->log_artifact(*staged); });
}

void WandbTracker::log_artifact(const fs::path& dir, const std::string& name) {
  if (!started_) return;
  std::vector<std::pair<fs::path, std::string>> files = files_under(dir);
  if (settings_.log_model == WandbLogModel::end) {  // keep a snapshot of the newest checkpoint for finish()
    last_checkpoint_.clear();
    for (const auto& [file, relative] : files)
      last_checkpoint_.emplace_back(stage(file, "final_model/" + relative), relative);
    return;
  }
  if (offline_) {
    WandbArtifact artifact{artifact_name_, "model", {}, numeric_summary(), files};
    artifact.metadata["model/num_parameters"] = num_parameters_;
    const double epoch = summary_.value("train/epoch", 0.0);
    artifact.aliases = {"epoch_" + python_float_repr(std::round(epoch * 100) / 100),
                        "checkpoint_global_step_" + name.substr(name.rfind('-') + 1)};
    log_model_artifact(std::move(artifact), name);
  }
  for (auto& f : files) f.second = name + "/" + f.second;
  log_files(files);  // the journal's run files: sent now when online, by `trainer sync` otherwise
}

// The original's first artifact: the model's description as model_architecture.txt, alias base_model.
void WandbTracker::log_base_model(const RunStart& run) {
  const fs::path file = offline_->dir() / "tmp" / "model_architecture.txt";
  fs::create_directories(file.parent_path());
  write_file_atomic(file, run.model_description + "\n", Durability::kReplaceOnly);
  const Json config = run.model_config();
  WandbArtifact artifact{artifact_name_,
                         "model",
                         {"base_model"},
                         Json{{"model_config", config.is_object() ? config : Json(run.model_description)},
                              {"num_parameters", num_parameters_},
                              {"initial_model", true}},
                         {{file, "model_architecture.txt"}}};
  log_model_artifact(std::move(artifact), "base_model");
}

// The files of the model training ends with: with --load_best_model_at_end the best checkpoint
// (kept on disk by rotation), else the last one.
std::vector<std::pair<fs::path, std::string>> WandbTracker::final_model_files(Json* metadata) const {
  const auto& best = state().best_model_checkpoint;
  if (args().load_best_model_at_end && best && fs::is_directory(*best) && state().best_metric) {
    std::vector<std::pair<fs::path, std::string>> files = files_under(*best);
    std::string metric = args().metric_for_best_model.value_or("loss");
    if (metric.rfind("eval_", 0) == 0) metric = metric.substr(5);
    *metadata = Json{{"eval/" + metric, *state().best_metric}, {"train/total_floss", state().total_flos}};
    return files;
  }
  *metadata = numeric_summary();
  return last_checkpoint_;
}

void WandbTracker::log_final_model() {
  Json metadata;
  std::vector<std::pair<fs::path, std::string>> files = final_model_files(&metadata);
  if (files.empty()) return;
  if (offline_) {
    WandbArtifact artifact{artifact_name_, "model", {"final_model"}, metadata, files};
    artifact.metadata["final_model"] = true;
    log_model_artifact(std::move(artifact), "final_model");
  }
  if (files != last_checkpoint_)  // the best checkpoint: staged now, for the run files
    for (auto& [file, relative] : files) file = stage(file, "final_model/" + relative);
  last_checkpoint_ = std::move(files);
  for (auto& f : last_checkpoint_) f.second = "final_model/" + f.second;
  log_files(last_checkpoint_);
  last_checkpoint_.clear();
}

void WandbTracker::checkpoint_saved() {
  RemoteTracker::checkpoint_saved();
  if (!offline_) return;
  writer_->drain();  // the checkpoint's rows are in the .wandb file (with the OS) before training goes on ...
  writer_->enqueue([this] { offline_->sync(); });  // ... and on disk soon after, off the training thread
}

void WandbTracker::finish(RunStatus status) {
  if (!started_) return;
  exit_code_ = exit_code_for(status);
  if (settings_.log_model == WandbLogModel::end) log_final_model();
  RemoteTracker::checkpoint_saved();  // the run is durable; it is ended when the tracker goes
  if (offline_) {
    writer_->finish();
    offline_->sync();
  }
}

void WandbTracker::write_exit() {
  if (!started_ || exited_) return;
  exited_ = true;
  submit("exit", Json{{"exitcode", exit_code_}});
  if (offline_) {
    writer_->finish();
    offline_->exit(exit_code_, runtime());
  }
  finish_sending("run " + run_id_ + " exit code " + std::to_string(exit_code_) +
                 (offline_ ? " (the SDK's offline run: wandb sync " + offline_->dir().string() + ")" : ""));
}

Json WandbTracker::saved_state() const {
  Json state = RemoteTracker::saved_state();
  if (!started_) return restored_.empty() ? state : restored_;
  state["run_id"] = run_id_;
  state["step"] = next_step_;
  state["runtime"] = runtime();
  state["summary"] = summary_;
  return state;
}

void WandbTracker::restore_state(const Json& state) {
  RemoteTracker::restore_state(state);
  restored_ = state;
}

std::shared_ptr<StatefulTrackerCallback> make_wandb_callback() {
  if (env_flag("WANDB_DISABLED"))
    throw ArgumentError(
        "--report_to wandb: WANDB_DISABLED is set, which turns the W&B integration off; unset one of them");
  const WandbSettings settings = WandbSettings::from_environment();
  TrackerTraits traits;
  traits.callback_name = "WandbCallback";
  traits.keys = nullptr;                    // rewritten by the tracker: the single values keep their names
  traits.values = ValueFilter::everything;  // the original logs strings and lists too
  traits.artifacts = settings.log_model != WandbLogModel::none;
  return std::make_shared<StatefulTrackerCallback>(
      traits, [settings](const TrainingArguments& args) { return std::make_unique<WandbTracker>(settings, args); });
}

bool wandb_in_all() {
  return !env_flag("WANDB_DISABLED") && (!env_string("WANDB_API_KEY").empty() || !env_string("WANDB_MODE").empty());
}

std::unique_ptr<RecordSender> wandb_sender_for_journal(const fs::path& dir, const std::string& output_dir) {
  return sender_for_journal_folder(dir, output_dir, [](const Json& meta) -> std::unique_ptr<RemoteEndpoint> {
    const WandbSettings settings = WandbSettings::from_journal_json(meta.value("settings", Json::object()));
    if (settings.api_key.empty())
      throw ArgumentError("W&B: WANDB_API_KEY is not set; `trainer sync` needs it to send the run to " +
                          settings.base_url);
    return std::make_unique<WandbEndpoint>(settings);
  });
}

}  // namespace trainer
