#include "trainer/integrations/tensorboard/tensorboard_callback.h"
#include "trainer/tracking/log_keys.h"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <utility>
#include <vector>

#include "integrations/tensorboard/event_file_writer.h"
#include "trainer/core/local_time.h"
#include "trainer/core/logging.h"
#include "trainer/core/paths.h"
#include "trainer/core/trainer_control.h"
#include "trainer/core/trainer_state.h"
#include "trainer/core/training_arguments.h"

namespace trainer {
namespace {

namespace fs = std::filesystem;

// The original's default run directory name: "Nov29_05-30-00_myhost".
std::string default_run_name() {
  char host[256] = {};
  if (gethostname(host, sizeof(host) - 1) != 0) host[0] = '\0';
  return local_time_now("%b%d_%H-%M-%S") + "_" + host;
}

}  // namespace

std::string tensorboard_log_dir(const TrainingArguments& args) {
  if (const char* env = std::getenv("TENSORBOARD_LOGGING_DIR"); env && *env) return expand_user(env);
  if (args.logging_dir && !args.logging_dir->empty()) return expand_user(*args.logging_dir);
  return (fs::path(args.output_dir) / "runs" / default_run_name()).string();
}

struct TensorBoardCallback::Output {
  explicit Output(std::string dir) : log_dir(std::move(dir)) {}
  std::string log_dir;                     // as given; empty: resolved at the start of the run
  std::string resolved;                    // training thread
  std::unique_ptr<EventFileWriter> file;   // writer thread only
  BackgroundWriter writer{"tensorboard"};  // last: stops (after its jobs) before the file goes

  // On the writer thread. Each job opens the file if it is not open yet, so a directory that
  // cannot be written is reported (once) without stopping training, and a log after training
  // ended starts a new file.
  EventFileWriter& open(const fs::path& dir) {
    if (!file) file = std::make_unique<EventFileWriter>(dir);
    return *file;
  }
};

namespace {

class TensorBoardTracker : public Tracker {
 public:
  explicit TensorBoardTracker(std::shared_ptr<TensorBoardCallback::Output> out) : out_(std::move(out)) {}

  void start_run(const RunStart&) override {
    if (out_->resolved.empty()) out_->resolved = out_->log_dir.empty() ? tensorboard_log_dir(args()) : out_->log_dir;
  }

  // Every train() starts a new event file with the arguments and the model as text.
  void train_started() override {
    const std::string args_text = dump_json(args().to_json(), {2, false, true});
    const std::string model_text = context().model_description;
    const fs::path dir = out_->resolved;
    const double now = unix_time_now();
    auto* out = out_.get();
    out_->writer.enqueue([out, dir, args_text, model_text, now] {
      EventFileWriter& file = out->open(dir);
      file.add_text("args", args_text, 0, now);
      if (!model_text.empty()) file.add_text("model_config", model_text, 0, now);
      file.flush();
    });
  }

  // Numbers (bools as 0/1) as scalars, strings as text; flushed at once so TensorBoard shows
  // each evaluation as it happens.
  void log_metrics(const Json& values, int64_t step) override {
    std::vector<std::pair<std::string, double>> scalars;
    std::vector<std::pair<std::string, std::string>> texts;
    for (auto it = values.begin(); it != values.end(); ++it) {
      if (it.value().is_string())
        texts.emplace_back(it.key(), it.value().get<std::string>());
      else
        scalars.emplace_back(it.key(), it.value().get<double>());
    }
    const fs::path dir = out_->resolved;
    const double now = unix_time_now();  // when the value was logged, not when the writer got to it
    auto* out = out_.get();
    out_->writer.enqueue([out, dir, scalars = std::move(scalars), texts = std::move(texts), step, now] {
      EventFileWriter& file = out->open(dir);
      for (const auto& [tag, value] : scalars) file.add_scalar(tag, value, step, now);
      for (const auto& [tag, text] : texts) file.add_text(tag, text, step, now);
      file.flush();
    });
  }

  // The directory stays: a log after training (a final evaluation) opens a new file beside this one.
  void finish(RunStatus) override {
    auto* out = out_.get();
    out_->writer.enqueue([out] {
      if (auto closing = std::move(out->file)) closing->close();
    });
    out_->writer.finish();
  }

 private:
  std::shared_ptr<TensorBoardCallback::Output> out_;
};

TrackerTraits tensorboard_traits() {
  TrackerTraits t;
  t.callback_name = "TensorBoardCallback";
  t.keys = rewrite_log_key;
  t.values = ValueFilter::numbers_bools_strings;
  return t;
}

}  // namespace

TensorBoardCallback::TensorBoardCallback(std::string log_dir)
    : TensorBoardCallback(std::make_shared<Output>(std::move(log_dir))) {}

TensorBoardCallback::TensorBoardCallback(std::shared_ptr<Output> output)
    : TrackerCallback(tensorboard_traits(),
                      [output](const Args&) { return std::make_unique<TensorBoardTracker>(output); }),
      output_(std::move(output)) {}

TensorBoardCallback::~TensorBoardCallback() { output_->writer.drain(); }

std::string TensorBoardCallback::log_dir() const { return output_->resolved; }

BackgroundWriter& TensorBoardCallback::writer() { return output_->writer; }

}  // namespace trainer
