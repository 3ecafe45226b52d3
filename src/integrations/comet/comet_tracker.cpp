#include "trainer/integrations/comet/comet_tracker.h"

#include "integrations/comet/comet_endpoint.h"
#include "trainer/core/argument_spec.h"
#include "trainer/core/environment.h"
#include "trainer/core/local_time.h"
#include "trainer/core/logging.h"
#include "trainer/core/random_id.h"
#include "trainer/core/trainer_control.h"
#include "trainer/core/trainer_state.h"
#include "trainer/core/training_arguments.h"
#include "trainer/tracking/log_keys.h"

namespace trainer {

namespace fs = std::filesystem;

CometTracker::CometTracker(CometSettings settings, const TrainingArguments& args)
    : RemoteTracker("comet_ml", "Comet", args), settings_(std::move(settings)) {}

// Online: output_dir/tracking/comet_ml. Offline: COMET_OFFLINE_DIRECTORY/<key>/, the same one
// again on resume (the checkpoint remembers it).
fs::path CometTracker::journal_folder(const RunStart& run) const {
  if (settings_.online) return {};
  const std::string earlier = field_or<std::string>(restored_, "offline_journal", "");
  if (run.resumed && !earlier.empty() && fs::is_directory(earlier)) return earlier;
  return fs::path(settings_.offline_directory) / random_hex(32);
}

void CometTracker::start_run(const RunStart& run) {
  if (settings_.mode == CometMode::disabled) {
    log_info("Comet: COMET_MODE=disabled, nothing is logged");
    return;
  }
  sender_options_.offline = !settings_.online;
  sender_options_.heartbeat_interval = std::chrono::seconds(60);
  const CometSettings settings = settings_;
  open_journal(
      run, Json{{"settings", settings_.to_journal_json()}, {"online", settings_.online}},
      [settings] { return std::make_unique<CometEndpoint>(settings); }, journal_folder(run));
  started_ = true;
  model_config_ = run.model_config();
  start_time_ = unix_time_ms();
  if (!run.resumed || remote_run().is_null()) {
    const Json earlier = restored_run();
    std::string key = settings_.mode == CometMode::create ? "" : settings_.experiment_key;
    if (earlier.is_object()) key = field_or<std::string>(earlier, "experiment_key", key);  // the journal lost
    const std::string name = run.run_name != run.output_dir ? run.run_name : "";
    submit("experiment", Json{{"workspace", settings_.workspace},
                              {"project", settings_.project},
                              {"name", name},
                              {"experiment_key", key}});
  }
  if (run.resumed) return;
  submit("times", Json{{"start", start_time_}, {"end", start_time_}});
  submit("graph", Json{{"graph", run.model_description}});
  submit("other", Json{{"key", "Created from"}, {"value", "transformers"}});
  submit("tags", Json{{"tags", Json::array({"transformers"})}});
  if (!settings_.online)
    log_info("Comet: offline; the experiment is kept in " + directory().string() + " for `trainer sync " +
             directory().string() + "`");
}

void CometTracker::log_params(const Json& params) {
  if (!started_) return;
  Json nested{{"args", params}};
  if (model_config_.is_object()) nested["config"] = model_config_;
  const Json flat = flatten_keys(nested, "|");
  Json list = Json::array();
  for (auto it = flat.begin(); it != flat.end(); ++it)
    list.push_back({it.key(), it.value().is_string() ? it.value().get<std::string>() : python_str(it.value())});
  for (size_t i = 0; i < list.size(); i += 100)
    submit("params",
           Json{{"params", Json(list.begin() + static_cast<std::ptrdiff_t>(i),
                                list.begin() + static_cast<std::ptrdiff_t>(std::min(list.size(), i + 100)))}});
}

void CometTracker::submit_metrics(const Json& values, int64_t step) {
  Json metrics = Json::object();
  for (auto it = values.begin(); it != values.end(); ++it)
    if (!logged_before(it.key(), step)) metrics[it.key()] = it.value();  // the stopped process did (exact resume)
  if (metrics.empty()) return;
  submit("metrics",
         Json{{"step", step}, {"epoch", state().epoch}, {"timestamp", next_timestamp()}, {"metrics", metrics}});
}

void CometTracker::log_metrics(const Json& values, int64_t step) {
  if (started_) submit_metrics(values, step);
}

void CometTracker::predicted(const Json& metrics) {
  if (!started_) return;
  Json values = Json::object();
  for (auto it = metrics.begin(); it != metrics.end(); ++it)
    if (it.value().is_number()) values[rewrite_log_key(it.key())] = it.value();
  submit_metrics(values, state().global_step);
}

void CometTracker::log_output_dir_assets() {
  for (const auto& [file, name] : output_dir_files())
    submit("asset",
           Json{{"file", stage(file, "assets/" + name).string()}, {"name", name}, {"step", state().global_step}});
}

void CometTracker::finish(RunStatus status) {
  if (!started_) return;
  if (settings_.log_assets) log_output_dir_assets();
  submit("times", Json{{"start", start_time_}, {"end", unix_time_ms()}});
  submit("other", Json{{"key", "status"}, {"value", to_string(status)}});
  submit("stop", Json::object());
  const Json run = remote_run();
  finish_sending("experiment " +
                 (run.is_object() ? field_or<std::string>(run, "experiment_key", "?") : std::string("(new)")) + " " +
                 to_string(status));
}

Json CometTracker::saved_state() const {
  Json state = RemoteTracker::saved_state();
  if (started_ && !settings_.online)
    state["offline_journal"] = directory().string();
  else if (restored_.contains("offline_journal"))
    state["offline_journal"] = restored_["offline_journal"];
  return state;
}

void CometTracker::restore_state(const Json& state) {
  RemoteTracker::restore_state(state);
  restored_ = state;
}

std::shared_ptr<StatefulTrackerCallback> make_comet_callback() {
  const CometSettings settings = CometSettings::from_environment();
  TrackerTraits traits;
  traits.callback_name = "CometCallback";
  traits.keys = rewrite_log_key;
  traits.values = ValueFilter::numbers_and_bools;  // the SDK logs numbers (bools as 0/1)
  return std::make_shared<StatefulTrackerCallback>(
      traits, [settings](const TrainingArguments& args) { return std::make_unique<CometTracker>(settings, args); });
}

bool comet_in_all() { return !env_string("COMET_API_KEY").empty(); }

std::unique_ptr<RecordSender> comet_sender_for_journal(const fs::path& dir, const std::string& output_dir) {
  return sender_for_journal_folder(dir, output_dir, [](const Json& meta) -> std::unique_ptr<RemoteEndpoint> {
    const CometSettings settings = CometSettings::from_journal_json(meta.value("settings", Json::object()));
    if (settings.api_key.empty())
      throw ArgumentError("Comet: COMET_API_KEY is not set; `trainer sync` needs it to send the experiment to " +
                          settings.api_url);
    return std::make_unique<CometEndpoint>(settings);
  });
}

}  // namespace trainer
