#include "trainer/integrations/dvclive/dvclive_callback.h"

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <regex>
#include <stdexcept>

#include "trainer/core/atomic_file.h"
#include "trainer/core/environment.h"
#include "trainer/core/logging.h"
#include "trainer/core/trainer_control.h"
#include "trainer/core/trainer_state.h"
#include "trainer/core/training_arguments.h"
#include "trainer/integrations/text_output.h"
#include "trainer/tracking/log_keys.h"

namespace trainer {

std::string dvclive_metric_name(const std::string& key) {
  std::string out = key;
  for (const std::string prefix : {"train", "eval"}) {
    const std::string from = prefix + "_", to = prefix + "/";
    for (size_t pos = out.find(from); pos != std::string::npos; pos = out.find(from, pos + to.size()))
      out.replace(pos, from.size(), to);
  }
  return out;
}

namespace {

namespace fs = std::filesystem;

std::string yaml_scalar(const Json& v) {
  if (v.is_null()) return "";
  if (v.is_boolean()) return v.get<bool>() ? "true" : "false";
  if (v.is_number_float()) {
    const double d = v.get<double>();
    if (std::isnan(d)) return ".nan";
    if (std::isinf(d)) return d > 0 ? ".inf" : "-.inf";
    return python_float_repr(d);
  }
  if (v.is_number()) return dump_json(v, {-1, false, true});
  if (!v.is_string()) return dump_json(v, {-1, false, true});  // flow style for nested values
  const std::string s = v.get<std::string>();
  // Plain only when YAML 1.2 would read it back as this same string.
  static const std::regex plain("[A-Za-z_/][A-Za-z0-9_./-]*");
  static const std::regex special("(?:true|false|yes|no|on|off|null|y|n|~)", std::regex::icase);
  if (std::regex_match(s, plain) && !std::regex_match(s, special)) return s;
  std::string quoted = "'";
  for (char c : s) quoted += c == '\'' ? std::string("''") : std::string(1, c);
  return quoted + "'";
}

}  // namespace

std::string params_yaml(const Json& params) {
  std::string out;
  for (auto it = params.begin(); it != params.end(); ++it) {
    const Json& v = it.value();
    if (v.is_array()) {
      out += yaml_scalar(Json(it.key())) + ":" + (v.empty() ? " []\n" : "\n");
      for (const auto& item : v) out += "- " + yaml_scalar(item) + "\n";
      continue;
    }
    const std::string text = yaml_scalar(v);
    out += yaml_scalar(Json(it.key())) + ":" + (text.empty() ? "" : " " + text) + "\n";
  }
  return out;
}

std::string dvclive_value_text(const Json& v) { return python_str(v); }

// What the writer thread keeps between logs: the plot files, held open, and metrics.json, which
// is replaced at most once a second (replacing a file costs a rename, which on ext4 also flushes
// it: a quarter of a millisecond) and whenever training ends.
struct DVCLivePlots {
  std::map<fs::path, AppendedFile> files;
  fs::path summary_path;
  std::string summary;  // pending metrics.json text; empty when written
  std::chrono::steady_clock::time_point summary_written{};

  void write_summary(bool now) {
    if (summary.empty()) return;
    if (!now && std::chrono::steady_clock::now() - summary_written < std::chrono::seconds(1)) return;
    summary_written = std::chrono::steady_clock::now();
    std::string text;
    text.swap(summary);
    write_file_atomic(summary_path, text, Durability::kReplaceOnly);
  }
};

namespace {

// dvc.yaml as DVCLive writes it for a live directory named `name`, with its artifacts.
std::string dvc_yaml_text(const std::string& name, const std::vector<std::string>& artifacts) {
  std::string text = "params:\n- " + name + "/params.yaml\nmetrics:\n- " + name + "/metrics.json\nplots:\n- " + name +
                     "/plots/metrics:\n    x: step\n";
  if (!artifacts.empty()) text += "artifacts:\n";
  for (const auto& a : artifacts) text += "  " + a + ":\n    path: " + name + "/artifacts/" + a + "\n    type: model\n";
  return text;
}

void copy_directory(const fs::path& from, const fs::path& to) {
  fs::remove_all(to);
  fs::create_directories(to.parent_path());
  fs::copy(from, to, fs::copy_options::recursive);
}

}  // namespace

namespace {

// Still set up after training ends, as in the original: an evaluation after training logs to the
// same run.
class DVCLiveTracker : public Tracker {
 public:
  DVCLiveTracker(std::string dir, std::string log_model, std::shared_ptr<BackgroundWriter> writer)
      : dir_(std::move(dir)), log_model_(std::move(log_model)), writer_(std::move(writer)) {}
  ~DVCLiveTracker() override {
    if (auto plots = plots_) writer_->enqueue([plots] { plots->write_summary(true); });
    writer_->drain();  // jobs finish before plots_ goes
  }

  void start_run(const RunStart&) override {
    const TrainingArguments& args = this->args();
    step_ = 0;
    summary_ = Json::object();
    const fs::path dir = dir_;
    const bool resume = env_flag("DVCLIVE_RESUME");
    const std::string params = params_yaml(args.to_json());
    plots_ = std::make_shared<DVCLivePlots>();
    plots_->summary_path = dir / "metrics.json";
    writer_->enqueue([dir, resume, params] {
      if (!resume) {
        fs::remove(dir / "params.yaml");
        fs::remove(dir / "metrics.json");
        fs::remove_all(dir / "plots");
      }
      fs::create_directories(dir);
      write_file_atomic(dir / "params.yaml", params, Durability::kReplaceOnly);
      const fs::path parent = dir.has_parent_path() ? dir.parent_path() : fs::path(".");
      const fs::path dvc_yaml = parent / "dvc.yaml";
      if (!fs::exists(dvc_yaml))
        write_file_atomic(dvc_yaml, dvc_yaml_text(dir.filename().string(), {}), Durability::kReplaceOnly);
    });
  }

  // Numbers, bools and strings (the tracker layer drops the rest with a warning).
  void log_metrics(const Json& values, int64_t) override {
    std::vector<std::pair<std::string, std::string>> rows;  // (metric name, value text)
    for (auto it = values.begin(); it != values.end(); ++it) {
      const Json& v = it.value();
      const std::string name = dvclive_metric_name(it.key());
      const std::string text = dvclive_value_text(v);
      rows.emplace_back(name, text);
      // metrics.json nests by '/'; non-finite numbers are stored as their text, as DVCLive does.
      Json* node = &summary_;
      size_t start = 0;
      for (size_t slash; (slash = name.find('/', start)) != std::string::npos; start = slash + 1) {
        Json& child = (*node)[name.substr(start, slash - start)];
        if (!child.is_object()) child = Json::object();
        node = &child;
      }
      const bool finite_number = v.is_number() && std::isfinite(v.get<double>());
      (*node)[name.substr(start)] = finite_number || !v.is_number() ? v : Json(text);
    }
    Json summary = summary_;
    summary["step"] = step_;
    const int64_t step = step_++;
    const fs::path dir = dir_;
    auto plots = plots_;
    writer_->enqueue([dir, plots, rows, summary, step] {
      // One plot that cannot be written does not keep the others from being written.
      std::string first_error;
      for (const auto& [name, text] : rows) {
        const fs::path tsv = dir / "plots" / "metrics" / (name + ".tsv");
        try {
          plots->files.try_emplace(tsv, tsv).first->second.append(std::to_string(step) + "\t" + text + "\n",
                                                                  "step\t" + name.substr(name.rfind('/') + 1) + "\n");
        } catch (const std::exception& e) {
          if (first_error.empty()) first_error = e.what();
        }
      }
      plots->summary = dump_json(summary, {4, false, true}) + "\n";
      plots->write_summary(false);
      if (!first_error.empty()) throw std::runtime_error(first_error);
    });
  }

  // log_model=all: each checkpoint's weights. The checkpoint is complete now but may be rotated away
  // once this returns: its files are hard-linked (copied across filesystems) here, and only the move
  // into place is left to the writer.
  void log_artifact(const fs::path& checkpoint, const std::string&) override {
    const fs::path artifacts = fs::path(dir_) / "artifacts";
    const fs::path staging = artifacts / (".staging-" + checkpoint.filename().string());
    fs::remove_all(staging);
    fs::create_directories(staging);
    for (const char* file : {"model.safetensors", "training_args.json"}) {
      if (!fs::exists(checkpoint / file)) continue;
      std::error_code linked;
      fs::create_hard_link(checkpoint / file, staging / file, linked);
      if (linked) fs::copy_file(checkpoint / file, staging / file);
    }
    writer_->enqueue([staging, target = artifacts / "last"] {
      fs::remove_all(target);
      fs::rename(staging, target);
    });
  }

  void finish(RunStatus) override {
    const TrainingArguments& args = this->args();
    const TrainerState& state = this->state();
    const CallbackContext& ctx = context();
    if (!log_model_.empty() && ctx.save_model) {
      // As the original: the model as training left it (the best one with load_best_model_at_end).
      const std::string name = args.load_best_model_at_end && state.best_model_checkpoint ? "best" : "last";
      const fs::path saved = fs::path(args.output_dir) / name;
      std::string error;
      try {
        ctx.save_model(saved.string());
      } catch (const std::exception& e) {
        error = e.what();
      }
      const fs::path dir = dir_;
      writer_->enqueue([dir, saved, name, error] {
        if (!error.empty()) throw std::runtime_error("cannot save the model for DVCLive: " + error);
        copy_directory(saved, dir / "artifacts" / name);
        const fs::path dvc_yaml = (dir.has_parent_path() ? dir.parent_path() : fs::path(".")) / "dvc.yaml";
        // Only a dvc.yaml this callback wrote (or none) is replaced; a user's own is left alone.
        const std::string plain = dvc_yaml_text(dir.filename().string(), {});
        std::ifstream in(dvc_yaml);
        const std::string current((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        if (!fs::exists(dvc_yaml) || current.rfind(plain, 0) == 0)
          write_file_atomic(dvc_yaml, dvc_yaml_text(dir.filename().string(), {name}), Durability::kReplaceOnly);
      });
    }
    // Still initialized, as in the original: an evaluation after training logs to the same run.
    if (auto plots = plots_) writer_->enqueue([plots] { plots->write_summary(true); });
    writer_->finish();
  }

 private:
  std::string dir_;
  std::string log_model_;  // "", "true" or "all"
  std::shared_ptr<BackgroundWriter> writer_;
  int64_t step_ = 0;
  Json summary_ = Json::object();
  std::shared_ptr<DVCLivePlots> plots_;  // used by writer_'s jobs only
};

TrackerTraits dvclive_traits(const std::string& log_model) {
  TrackerTraits t;
  t.callback_name = "DVCLiveCallback";
  t.values = ValueFilter::numbers_bools_strings;
  t.bools_as_numbers = false;  // written as True/False, as DVCLive does
  t.artifacts = log_model == "all";
  return t;
}

std::string resolve_log_model(std::string log_model) {
  if (log_model.empty()) {
    const char* env = std::getenv("HF_DVCLIVE_LOG_MODEL");
    log_model = env && std::string(env) == "all" ? "all" : env_flag("HF_DVCLIVE_LOG_MODEL") ? "true" : "";
  }
  if (!log_model.empty() && log_model != "true" && log_model != "all")
    throw std::invalid_argument("DVCLiveCallback: log_model '" + log_model + "' (use true or all)");
  return log_model;
}

}  // namespace

DVCLiveCallback::DVCLiveCallback(std::string dir, std::string log_model)
    : DVCLiveCallback(std::move(dir), resolve_log_model(std::move(log_model)),
                      std::make_shared<BackgroundWriter>("dvclive")) {}

DVCLiveCallback::DVCLiveCallback(std::string dir, std::string log_model, std::shared_ptr<BackgroundWriter> writer)
    : TrackerCallback(
          dvclive_traits(log_model),
          [dir, log_model, writer](const Args&) { return std::make_unique<DVCLiveTracker>(dir, log_model, writer); }),
      log_model_(log_model),
      writer_(std::move(writer)) {}

DVCLiveCallback::~DVCLiveCallback() = default;

}  // namespace trainer
