#include "trainer/integrations/clearml/clearml_tracker.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <fstream>
#include <set>

#include "integrations/clearml/clearml_endpoint.h"
#include "trainer/core/argument_spec.h"
#include "trainer/core/atomic_file.h"
#include "trainer/core/environment.h"
#include "trainer/core/file_snapshot.h"
#include "trainer/core/local_time.h"
#include "trainer/core/logging.h"
#include "trainer/core/random_id.h"
#include "trainer/core/training_arguments.h"
#include "trainer/integrations/zip_archive.h"
#include "trainer/tracking/log_keys.h"

namespace trainer {
namespace {

namespace fs = std::filesystem;

constexpr int64_t kSummaryIteration = -2147483648LL;  // report_single_value's iteration: -2^31
std::atomic<int> train_runs{0};  // the original's class-level counter: a later train() gets _2, _3, ...

bool single_value(const std::string& key) {
  static const std::set<std::string> keys = {
      "train_runtime", "train_samples_per_second", "train_steps_per_second", "train_loss", "total_flos", "epoch"};
  return keys.count(key) > 0;
}

std::string python_type(const Json& v) {
  if (v.is_boolean()) return "bool";
  if (v.is_number_integer()) return "int";
  if (v.is_number()) return "float";
  if (v.is_null()) return "NoneType";
  if (v.is_array()) return "list";
  if (v.is_object()) return "dict";
  return "str";
}

const char* status_word(RunStatus s) {
  return s == RunStatus::failed ? "failed" : s == RunStatus::killed ? "stopped" : "completed";
}

}  // namespace

// The SDK's offline session folder, written on the tracker's
// background writer.
class ClearMLOfflineSession {
 public:
  ClearMLOfflineSession(const fs::path& cache_dir, Json task) : task_(std::move(task)) {
    id_ = "offline-" + random_hex(32);
    dir_ = cache_dir / "offline" / id_;
    fs::create_directories(dir_ / "data");
    task_["id"] = id_;
    task_["offline_folder"] = dir_.string();
    task_["offline_output_models"] = Json::array();
    write_task("in_progress");
    log("ClearML offline session " + id_ + " started (import it with: clearml-task --import-offline-session " +
        dir_.string() + ")");
  }
  void metrics(const Json& events) {
    Json line = Json::array();
    for (Json e : events) {
      e["type"] = "training_stats_scalar";
      e["task"] = id_;
      line.push_back(std::move(e));
    }
    append(dir_ / "metrics.jsonl", line);
  }
  void log(const std::string& message) {
    append(dir_ / "log.jsonl", Json::array({Json{{"type", "log"},
                                                 {"task", id_},
                                                 {"timestamp", unix_time_ms()},
                                                 {"level", "info"},
                                                 {"worker", host_name()},
                                                 {"msg", message}}}));
  }
  // The checkpoint zipped into data/ and listed in task.json; the oldest removed beyond `keep`.
  void model(const std::string& name, int64_t iteration, const std::vector<std::pair<fs::path, std::string>>& files,
             std::optional<int64_t> keep) {
    const fs::path zip = dir_ / "data" / (name + ".zip");
    write_zip_archive(zip, files);
    task_["offline_output_models"].push_back(
        Json{{"name", name}, {"iteration", iteration}, {"local_path", zip.string()}});
    auto& models = task_["offline_output_models"];
    while (keep && *keep > 0 && static_cast<int64_t>(models.size()) > *keep) {
      std::error_code ignored;
      fs::remove(models[0].value("local_path", ""), ignored);
      models.erase(models.begin());
    }
    write_task(task_.value("status", "in_progress"));
  }
  void finish(const std::string& status) {
    log("task " + status);
    write_task(status);
  }
  const fs::path& dir() const { return dir_; }

 private:
  void write_task(const std::string& status) {
    task_["status"] = status;
    task_["last_update"] = utc_time_iso8601();
    write_file_atomic(dir_ / "task.json", dump_json(task_, {2, true, false}) + "\n", Durability::kSynced);
  }
  static void append(const fs::path& file, const Json& line) {
    std::ofstream out(file, std::ios::app | std::ios::binary);
    out << dump_json(line, {-1, false, false}) << "\n";
    if (!out.flush()) throw std::runtime_error(file.string() + ": cannot append");
  }
  std::string id_;
  fs::path dir_;
  Json task_;
};

ClearMLTracker::ClearMLTracker(ClearMLSettings settings, const TrainingArguments& args)
    : RemoteTracker("clearml", "ClearML", args),
      settings_(std::move(settings)),
      save_total_limit_(args.save_total_limit) {}

ClearMLTracker::~ClearMLTracker() { writer_.reset(); }

// The arguments flattened under Transformers<suffix> (no *_token), and the original's two flags.
Json ClearMLTracker::hyperparams(const RunStart& run) const {
  const std::string section = "Transformers" + suffix_;
  Json params = Json::object();
  const Json flat = flatten_keys(run.arguments, "/");
  for (auto it = flat.begin(); it != flat.end(); ++it) {
    if (it.key().size() >= 6 && it.key().compare(it.key().size() - 6, 6, "_token") == 0) continue;
    params[it.key()] = Json{{"section", section},
                            {"name", it.key()},
                            {"value", python_str(it.value())},
                            {"type", python_type(it.value())},
                            {"description", ""}};
  }
  Json out = Json::object();
  out[section] = params;
  for (const char* flag : {"_ignore_hparams_ui_overrides_", "_ignore_model_config_ui_overrides_"})
    out["Transformers"][flag] =
        Json{{"section", "Transformers"},
             {"name", flag},
             {"value", "True"},
             {"type", "bool"},
             {"description", "If True, ignore the values set in the UI when the task runs remotely"}};
  return out;
}

Json ClearMLTracker::configuration(const RunStart& run) const {
  const Json model = run.model_config();
  Json out = Json::object();
  if (!model.is_object()) return out;
  const std::string name = "Model Configuration" + suffix_;
  out[name] = Json{{"name", name},
                   {"value", dump_json(model, {2, false, false})},
                   {"type", "dictionary"},
                   {"description", "The configuration of model number " + std::to_string(run_number_) + "."}};
  return out;
}

void ClearMLTracker::start_run(const RunStart& run) {
  run_number_ = ++train_runs;
  suffix_ = run_number_ > 1 ? "_" + std::to_string(run_number_) : "";
  sender_options_.offline = settings_.offline;
  const ClearMLSettings settings = settings_;
  open_journal(run, Json{{"settings", settings_.to_journal_json()}},
               [settings] { return std::make_unique<ClearMLEndpoint>(settings); });
  const Json task{{"project", settings_.project},
                  {"name", settings_.task + suffix_},
                  {"hyperparams", hyperparams(run)},
                  {"configuration", configuration(run)},
                  {"run_key", random_hex(32)}};
  if (!run.resumed || remote_run().is_null()) submit("task", task);
  if (settings_.offline) {
    Json offline_task{{"name", task["name"]},
                      {"project_name", settings_.project},
                      {"type", "training"},
                      {"hyperparams", task["hyperparams"]},
                      {"configuration", task["configuration"]},
                      {"comment", "Created by trainer (C++)"},
                      {"system_tags", {"development"}},
                      {"created", utc_time_iso8601()}};
    offline_ = std::make_unique<ClearMLOfflineSession>(settings_.cache_dir, std::move(offline_task));
    writer_ = std::make_unique<BackgroundWriter>("clearml");
    log_info("ClearML: offline session in " + offline_->dir().string());
  }
  started_ = true;
}

void ClearMLTracker::log_metrics(const Json& values, int64_t step) {
  if (!started_) return;
  Json events = Json::array();
  Json kept = Json::object();
  const int64_t timestamp = next_timestamp();
  for (auto it = values.begin(); it != values.end(); ++it) {
    const std::string& k = it.key();
    if (logged_before(k, step)) continue;  // sent by the process that stopped after its checkpoint
    const double raw = it.value().get<double>();
    const double value = std::isfinite(raw) ? raw : 0.0;  // as the SDK reports NaN and infinities
    kept[k] = it.value();
    Json e{{"timestamp", timestamp}, {"iter", step}, {"value", value}};
    if (single_value(k)) {
      e["metric"] = "Summary";
      e["variant"] = k + suffix_;
      e["iter"] = kSummaryIteration;
    } else if (k.rfind("eval_", 0) == 0 || k.rfind("test_", 0) == 0) {
      e["metric"] = k.substr(0, 4) + suffix_;
      e["variant"] = k.substr(5);
    } else {
      e["metric"] = "train" + suffix_;
      e["variant"] = k;
    }
    events.push_back(std::move(e));
  }
  if (events.empty()) return;
  submit("metrics", Json{{"step", step}, {"metrics", kept}, {"events", events}});
  if (offline_) writer_->enqueue([this, events] { offline_->metrics(events); });
}

// A complete checkpoint as the output model checkpoint-N<suffix>: its files staged now (it may be
// rotated away before it is sent), zipped and uploaded by the sender.
void ClearMLTracker::log_artifact(const fs::path& dir, const std::string& name) {
  if (!started_ || !settings_.log_model) return;
  const std::string model = name + suffix_;
  Json list = Json::array();
  std::vector<std::pair<fs::path, std::string>> staged;
  for (const auto& [file, relative] : files_under(dir)) {
    staged.emplace_back(stage(file, "models/" + model + "/" + relative), relative);
    list.push_back(Json{{"file", staged.back().first.string()}, {"name", relative}});
  }
  const int64_t iteration = std::stoll("0" + name.substr(name.rfind('-') + 1));
  submit("model", Json{{"name", model}, {"iteration", iteration}, {"project", settings_.project}, {"files", list}});
  models_.push_back(model);
  if (save_total_limit_ && *save_total_limit_ > 0 && static_cast<int64_t>(models_.size()) > *save_total_limit_) {
    submit("delete_model", Json{{"name", models_.front()}});
    models_.erase(models_.begin());
  }
  if (offline_)
    writer_->enqueue(
        [this, model, iteration, staged] { offline_->model(model, iteration, staged, save_total_limit_); });
}

void ClearMLTracker::checkpoint_saved() {
  RemoteTracker::checkpoint_saved();
  if (writer_) writer_->drain();
}

void ClearMLTracker::finish(RunStatus status) {
  if (!started_) return;
  const std::string word = status_word(status);
  submit("status", Json{{"status", word}, {"reason", std::string("training ") + to_string(status)}});
  if (offline_) {
    writer_->enqueue([this, word] { offline_->finish(word); });
    writer_->finish();
  }
  finish_sending(
      "task " + settings_.task + suffix_ + " " + word +
      (offline_ ? " (the SDK's offline session: clearml-task --import-offline-session " + offline_->dir().string() + ")"
                : ""));
}

std::shared_ptr<StatefulTrackerCallback> make_clearml_callback() {
  const ClearMLSettings settings = ClearMLSettings::from_environment();
  if (!settings.offline && !settings.has_credentials())
    throw ArgumentError(
        "--report_to clearml: no ClearML credentials; set CLEARML_API_ACCESS_KEY and CLEARML_API_SECRET_KEY "
        "(or api.credentials in ~/clearml.conf), or CLEARML_AUTH_TOKEN, or CLEARML_OFFLINE_MODE=1");
  TrackerTraits traits;
  traits.callback_name = "ClearMLCallback";
  traits.keys = nullptr;                  // titles and series are the tracker's own
  traits.values = ValueFilter::numbers;   // int and float only, others dropped with a warning
  traits.artifacts = settings.log_model;  // each complete checkpoint as an output model
  return std::make_shared<StatefulTrackerCallback>(
      traits, [settings](const TrainingArguments& args) { return std::make_unique<ClearMLTracker>(settings, args); });
}

bool clearml_in_all() {
  const ClearMLSettings s = ClearMLSettings::from_environment();
  return s.offline || s.has_credentials();
}

std::unique_ptr<RecordSender> clearml_sender_for_journal(const fs::path& dir, const std::string& output_dir) {
  return sender_for_journal_folder(dir, output_dir, [](const Json& meta) -> std::unique_ptr<RemoteEndpoint> {
    const ClearMLSettings settings = ClearMLSettings::from_journal_json(meta.value("settings", Json::object()));
    if (!settings.has_credentials())
      throw ArgumentError(
          "ClearML: no credentials (CLEARML_API_ACCESS_KEY and CLEARML_API_SECRET_KEY, or CLEARML_AUTH_TOKEN); "
          "`trainer sync` needs them to send the task to " +
          settings.api_host);
    return std::make_unique<ClearMLEndpoint>(settings);
  });
}

}  // namespace trainer
