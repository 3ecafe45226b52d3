#include "trainer/integrations/tensorboard/tensorboard_callback.h"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <utility>
#include <vector>

#include "trainer/core/logging.h"
#include "trainer/core/paths.h"
#include "trainer/integrations/local_time.h"
#include "trainer/integrations/log_keys.h"
#include "trainer/integrations/tensorboard/event_file_writer.h"

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

TensorBoardCallback::TensorBoardCallback(std::string log_dir)
    : log_dir_(std::move(log_dir)), writer_(std::make_unique<BackgroundWriter>("tensorboard")) {}

TensorBoardCallback::~TensorBoardCallback() {
  writer_->drain();
  writer_.reset();  // joins the thread before file_ goes
}

void TensorBoardCallback::resolve_log_dir(const Args& args) {
  if (resolved_.empty()) resolved_ = log_dir_.empty() ? tensorboard_log_dir(args) : log_dir_;
}

// On the writer thread. Each job opens the file if it is not open yet, so a directory that cannot
// be written is reported (once) without stopping training, and a log after training ended starts
// a new file.
EventFileWriter& TensorBoardCallback::file(const fs::path& dir) {
  if (!file_) file_ = std::make_unique<EventFileWriter>(dir);
  return *file_;
}

void TensorBoardCallback::on_train_begin(const Args& args, TrainerState& state, TrainerControl&, CallbackContext& ctx) {
  if (!state.is_world_process_zero) return;
  resolve_log_dir(args);
  const std::string args_text = dump_json(args.to_json(), {2, false, true});
  const std::string model_text = ctx.model_description;
  const fs::path dir = resolved_;
  const double now = unix_time_now();
  writer_->enqueue([this, dir, args_text, model_text, now] {
    EventFileWriter& out = file(dir);
    out.add_text("args", args_text, 0, now);
    if (!model_text.empty()) out.add_text("model_config", model_text, 0, now);
    out.flush();
  });
}

void TensorBoardCallback::on_log(const Args& args, TrainerState& state, TrainerControl&, CallbackContext& ctx) {
  if (!state.is_world_process_zero || !ctx.logs) return;
  resolve_log_dir(args);
  std::vector<std::pair<std::string, double>> scalars;
  std::vector<std::pair<std::string, std::string>> texts;
  for (auto it = ctx.logs->begin(); it != ctx.logs->end(); ++it) {
    const std::string tag = rewrite_log_key(it.key());
    const Json& v = it.value();
    if (v.is_boolean()) {
      scalars.emplace_back(tag, v.get<bool>() ? 1.0 : 0.0);
    } else if (v.is_number()) {
      scalars.emplace_back(tag, v.get<double>());
    } else if (v.is_string()) {
      texts.emplace_back(tag, v.get<std::string>());
    } else if (warned_keys_.insert(it.key()).second) {
      log_warning("TensorBoardCallback: '" + it.key() + "' is a " + std::string(v.type_name()) +
                  ", which TensorBoard cannot show as a scalar or text; it is not logged to TensorBoard");
    }
  }
  const int64_t step = state.global_step;
  const fs::path dir = resolved_;
  const double now = unix_time_now();  // when the value was logged, not when the writer got to it
  writer_->enqueue([this, dir, scalars = std::move(scalars), texts = std::move(texts), step, now] {
    EventFileWriter& out = file(dir);
    for (const auto& [tag, value] : scalars) out.add_scalar(tag, value, step, now);
    for (const auto& [tag, text] : texts) out.add_text(tag, text, step, now);
    out.flush();
  });
}

void TensorBoardCallback::on_train_end(const Args&, TrainerState& state, TrainerControl&, CallbackContext&) {
  if (!state.is_world_process_zero) return;
  writer_->enqueue([this] {
    if (auto closing = std::move(file_)) closing->close();
  });
  writer_->finish();
  // The directory stays: a log after training (a final evaluation) opens a new file beside this one.
}

}  // namespace trainer
