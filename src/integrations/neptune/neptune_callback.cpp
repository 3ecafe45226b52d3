#include "trainer/integrations/neptune/neptune_callback.h"
#include "trainer/tracking/log_keys.h"

#include <unistd.h>

#include <atomic>
#include <fstream>

#include "trainer/core/argument_spec.h"
#include "trainer/core/atomic_file.h"
#include "trainer/core/background_writer.h"
#include "trainer/core/environment.h"
#include "trainer/core/file_snapshot.h"
#include "trainer/core/local_time.h"
#include "trainer/core/logging.h"
#include "trainer/core/random_id.h"
#include "trainer/core/text.h"
#include "trainer/core/trainer_control.h"
#include "trainer/core/trainer_state.h"
#include "trainer/core/training_arguments.h"

namespace trainer {
namespace {

namespace fs = std::filesystem;

std::atomic<bool> deprecation_warned{false};

Json path_of(const std::string& slash_path) {
  Json path = Json::array();
  size_t start = 0;
  while (start <= slash_path.size()) {
    const size_t end = std::min(slash_path.find('/', start), slash_path.size());
    if (end > start) path.push_back(slash_path.substr(start, end - start));
    start = end + 1;
  }
  return path;
}

// One Assign* operation for a value of a namespace dict, as neptune's stringify_unsupported leaves it:
// numbers, bools and strings as themselves, anything else as its text.
Json assign(const std::string& path, const Json& value) {
  if (value.is_boolean()) return Json{{"type", "AssignBool"}, {"path", path_of(path)}, {"value", value}};
  if (value.is_number_integer()) return Json{{"type", "AssignInt"}, {"path", path_of(path)}, {"value", value}};
  if (value.is_number_float()) return Json{{"type", "AssignFloat"}, {"path", path_of(path)}, {"value", value}};
  return Json{{"type", "AssignString"},
              {"path", path_of(path)},
              {"value", value.is_string() ? value.get<std::string>() : python_str(value)}};
}

// The offline operation log of one run, written on a BackgroundWriter.
class NeptuneOfflineRun {
 public:
  explicit NeptuneOfflineRun(const fs::path& data_directory) {
    dir_ = data_directory / "offline" /
           ("run__" + random_uuid4() + "__" + std::to_string(::getpid()) + "__" + random_id(8));
    fs::create_directories(dir_);
    log_.open(dir_ / "data-1.log", std::ios::app | std::ios::binary);
    if (!log_) throw std::runtime_error((dir_ / "data-1.log").string() + ": cannot write");
    write_file_atomic(dir_ / "last_ack_version", "0", Durability::kReplaceOnly);
  }
  void put(const Json& operation) {
    const double at = static_cast<double>(unix_time_ms()) / 1000.0;
    log_ << dump_json(Json{{"obj", operation}, {"version", ++version_}, {"at", at}}, {-1, false, false}) << "\n";
  }
  // Hands what was put to the OS and records its last version (at checkpoints and the end).
  void flush() {
    log_.flush();
    if (!log_) throw std::runtime_error((dir_ / "data-1.log").string() + ": cannot write");
    write_file_atomic(dir_ / "last_put_version", std::to_string(version_), Durability::kReplaceOnly);
  }
  // The checkpoint's files linked under upload/, where neptune sync finds them after rotation.
  fs::path stage(const fs::path& checkpoint) const {
    const fs::path target = dir_ / "upload" / checkpoint.filename();
    for (const auto& [file, relative] : files_under(checkpoint)) snapshot_file(file, target / relative);
    return target;
  }
  const fs::path& dir() const { return dir_; }

 private:
  fs::path dir_;
  std::ofstream log_;
  int64_t version_ = 0;
};

class NeptuneTracker : public Tracker {
 public:
  explicit NeptuneTracker(NeptuneOptions options)
      : options_(std::move(options)), writer_(std::make_unique<BackgroundWriter>("neptune")) {}
  ~NeptuneTracker() override { writer_.reset(); }

  void start_run(const RunStart& run) override {
    if (options_.api_token.empty() && options_.project.empty())
      log_info("NeptuneCallback: no NEPTUNE_API_TOKEN or NEPTUNE_PROJECT; the offline run is written all the same");
    const fs::path root = options_.data_directory.empty() ? fs::path(".neptune") : fs::path(options_.data_directory);
    run_ = std::make_shared<NeptuneOfflineRun>(root);
    const std::string name = !options_.name.empty() ? options_.name : run.run_name;
    if (!name.empty()) put(assign("sys/name", name));
    put(assign("source_code/integrations/transformers", std::string("trainer-cpp")));
    if (options_.log_parameters) {
      for (auto it = run.arguments.begin(); it != run.arguments.end(); ++it)
        if (!it.value().is_null()) put(assign(ns() + "trainer_parameters/" + it.key(), it.value()));
      const Json model = run.model_config();
      if (model.is_object())
        for (auto it = model.begin(); it != model.end(); ++it)
          put(assign(ns() + "model_parameters/" + it.key(), it.value()));
    }
    log_info("Neptune: offline run in " + run_->dir().string() + " (send it with: neptune sync)");
  }

  // Numbers only (the traits' filter), keys rewritten: train/epoch assigned, the rest float series.
  void log_metrics(const Json& values, int64_t step) override {
    if (!run_) return;
    const double ts = static_cast<double>(unix_time_ms()) / 1000.0;
    for (auto it = values.begin(); it != values.end(); ++it) {
      const double value = it.value().get<double>();
      if (it.key() == "train/epoch") {
        put(Json{{"type", "AssignFloat"}, {"path", path_of(ns() + it.key())}, {"value", value}});
      } else {
        const Json point{
            {"value", value}, {"step", static_cast<double>(step)}, {"ts", ts}};  // NaN as json.dumps writes it
        put(Json{{"type", "LogFloats"}, {"path", path_of(ns() + it.key())}, {"values", Json::array({point})}});
      }
    }
  }

  void evaluated(const Json& metrics) override {
    if (options_.log_checkpoints != NeptuneCheckpoints::best) return;
    const std::string key = args().best_metric_key();
    if (!metrics.contains(key) || !metrics[key].is_number()) return;
    const double value = metrics[key].get<double>();
    const bool greater = args().greater_is_better.value_or(false);
    const std::optional<double> best = state().best_metric;
    upload_next_ = !best || (greater ? value > *best : value < *best);
  }

  void log_artifact(const fs::path& dir, const std::string& name) override {
    if (!run_ || options_.log_checkpoints == NeptuneCheckpoints::none) return;
    if (options_.log_checkpoints == NeptuneCheckpoints::best && !upload_next_) return;
    upload_next_ = false;
    const std::string target = options_.log_checkpoints == NeptuneCheckpoints::same   ? "checkpoints"
                               : options_.log_checkpoints == NeptuneCheckpoints::last ? "checkpoints/last"
                                                                                      : "checkpoints/best";
    if (options_.log_checkpoints != NeptuneCheckpoints::same && !previous_checkpoint_.empty())
      put(Json{{"type", "DeleteFiles"},
               {"path", path_of(ns() + target)},
               {"file_paths", Json::array({previous_checkpoint_})}});
    const fs::path staged = run_->stage(dir);  // now: the checkpoint may be rotated away
    put(Json{{"type", "UploadFileSet"},
             {"path", path_of(ns() + target)},
             {"file_globs", Json::array({staged.string()})},
             {"reset", false}});
    previous_checkpoint_ = name;
  }

  void checkpoint_saved() override { flush(); }
  void finish(RunStatus status) override {
    if (!run_) return;
    flush();
    writer_->finish();
    log_warning("Neptune: the run is offline in " + run_->dir().string() +
                "; send it to your Neptune server with: neptune sync --path " +
                (options_.data_directory.empty() ? std::string(".neptune") : options_.data_directory));
  }

 private:
  std::string ns() const { return options_.base_namespace.empty() ? "" : options_.base_namespace + "/"; }
  void put(Json operation) {
    auto run = run_;
    writer_->enqueue([run, operation = std::move(operation)] { run->put(operation); });
  }
  void flush() {
    if (!run_) return;
    auto run = run_;
    writer_->enqueue([run] { run->flush(); });
  }

  NeptuneOptions options_;
  std::shared_ptr<NeptuneOfflineRun> run_;
  bool upload_next_ = false;
  std::string previous_checkpoint_;
  std::unique_ptr<BackgroundWriter> writer_;
};

TrackerTraits neptune_traits(const NeptuneOptions& options) {
  TrackerTraits traits;
  traits.callback_name = "NeptuneCallback";
  traits.keys = rewrite_log_key;
  traits.values = ValueFilter::numbers;  // int and float only, as the original
  traits.artifacts = options.log_checkpoints != NeptuneCheckpoints::none;
  return traits;
}

NeptuneOptions with_environment(NeptuneOptions options) {
  if (options.api_token.empty()) options.api_token = env_string("NEPTUNE_API_TOKEN");
  if (options.project.empty()) options.project = env_string("NEPTUNE_PROJECT");
  if (options.data_directory.empty()) options.data_directory = env_string("NEPTUNE_DATA_DIRECTORY");
  const std::string mode = ascii_lower(env_string("NEPTUNE_MODE"));
  if (!mode.empty() && mode != "offline")
    log_warning("NeptuneCallback: NEPTUNE_MODE=" + mode +
                " is not supported (no live Neptune client here); the run is "
                "written offline for `neptune sync`");
  return options;
}

}  // namespace

NeptuneCheckpoints parse_neptune_checkpoints(const std::string& value) {
  const std::string v = ascii_lower(value);
  if (v.empty() || v == "none") return NeptuneCheckpoints::none;
  if (v == "same") return NeptuneCheckpoints::same;
  if (v == "last") return NeptuneCheckpoints::last;
  if (v == "best") return NeptuneCheckpoints::best;
  throw ArgumentError("NeptuneCallback: log_checkpoints '" + value + "' is not one of same, last, best (or none)");
}

NeptuneCallback::NeptuneCallback(NeptuneOptions options)
    : TrackerCallback(neptune_traits(options),
                      [options = with_environment(options)](const TrainingArguments&) {
                        return std::make_unique<NeptuneTracker>(options);
                      }),
      log_checkpoints_(options.log_checkpoints) {
  if (!deprecation_warned.exchange(true))
    log_warning(
        "NeptuneCallback is deprecated, as in the original: the hosted Neptune service shut down on 2026-03-05. "
        "Runs are written in neptune-client's offline format, for `neptune sync` to a self-hosted server");
}

void NeptuneCallback::on_init_end(const Args& args, TrainerState& state, TrainerControl& control,
                                  CallbackContext& ctx) {
  if (log_checkpoints_ == NeptuneCheckpoints::best && !args.load_best_model_at_end)
    throw ArgumentError("NeptuneCallback: log_checkpoints=best needs --load_best_model_at_end true (as the original)");
  TrackerCallback::on_init_end(args, state, control, ctx);
}

std::shared_ptr<TrainerCallback> make_neptune_callback() {
  NeptuneOptions options;
  options.log_checkpoints = parse_neptune_checkpoints(env_string("NEPTUNE_LOG_CHECKPOINTS"));
  return std::make_shared<NeptuneCallback>(options);
}

}  // namespace trainer
