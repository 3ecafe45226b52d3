#include "trainer/integrations/tensorboard/tensorboard_callback.h"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>

#include "trainer/core/logging.h"
#include "trainer/integrations/local_time.h"
#include "trainer/integrations/log_keys.h"
#include "trainer/integrations/tensorboard/event_file_writer.h"

namespace trainer {
namespace {

namespace fs = std::filesystem;

std::string expand_home(const std::string& path) {
  if (path.empty() || path[0] != '~') return path;
  const char* home = std::getenv("HOME");
  return (home ? std::string(home) : std::string()) + path.substr(1);
}

// The original's default run directory name: "Nov29_05-30-00_myhost".
std::string default_run_name() {
  char host[256] = {};
  if (gethostname(host, sizeof(host) - 1) != 0) host[0] = '\0';
  return local_time_now("%b%d_%H-%M-%S") + "_" + host;
}

}  // namespace

std::string tensorboard_log_dir(const TrainingArguments& args) {
  if (const char* env = std::getenv("TENSORBOARD_LOGGING_DIR"); env && *env) return expand_home(env);
  if (args.logging_dir && !args.logging_dir->empty()) return expand_home(*args.logging_dir);
  return (fs::path(args.output_dir) / "runs" / default_run_name()).string();
}

TensorBoardCallback::TensorBoardCallback(std::string log_dir)
    : log_dir_(std::move(log_dir)), writer_(std::make_unique<BackgroundWriter>("tensorboard")) {}

TensorBoardCallback::~TensorBoardCallback() {
  writer_->drain();
  writer_.reset();  // joins the thread before file_ goes
}

void TensorBoardCallback::ensure_writer(const Args& args) {
  if (!resolved_.empty()) return;
  resolved_ = log_dir_.empty() ? tensorboard_log_dir(args) : log_dir_;
  const fs::path dir = resolved_;
  // The file is opened on the writer thread, and again by each job until it opens, so a directory
  // that cannot be written is reported (once) without stopping training.
  writer_->enqueue([this, dir] { file_ = std::make_shared<EventFileWriter>(dir); });
}

void TensorBoardCallback::on_train_begin(const Args& args, TrainerState& state, TrainerControl&, CallbackContext& ctx) {
  if (!state.is_world_process_zero) return;
  ensure_writer(args);
  const std::string args_text = dump_json(args.to_json(), {2, false, true});
  const std::string model_text = ctx.model_description;
  const fs::path dir = resolved_;
  writer_->enqueue([this, dir, args_text, model_text] {
    if (!file_) file_ = std::make_shared<EventFileWriter>(dir);
    const double now = unix_time_now();
    file_->add_text("args", args_text, 0, now);
    if (!model_text.empty()) file_->add_text("model_config", model_text, 0, now);
    file_->flush();
  });
}

void TensorBoardCallback::on_log(const Args& args, TrainerState& state, TrainerControl&, CallbackContext& ctx) {
  if (!state.is_world_process_zero || !ctx.logs) return;
  ensure_writer(args);
  Json scalars = Json::object(), texts = Json::object();
  for (auto it = ctx.logs->begin(); it != ctx.logs->end(); ++it) {
    const std::string tag = rewrite_log_key(it.key());
    const Json& v = it.value();
    if (v.is_number() || v.is_boolean()) {
      scalars[tag] = v.is_boolean() ? Json(v.get<bool>() ? 1.0 : 0.0) : Json(v.get<double>());
    } else if (v.is_string()) {
      texts[tag] = v;
    } else if (warned_keys_.insert(it.key()).second) {
      log_warning("TensorBoardCallback: '" + it.key() + "' is a " + std::string(v.type_name()) +
                  ", which TensorBoard cannot show as a scalar or text; it is not logged to TensorBoard");
    }
  }
  const int64_t step = state.global_step;
  const fs::path dir = resolved_;
  writer_->enqueue([this, dir, scalars, texts, step] {
    if (!file_) file_ = std::make_shared<EventFileWriter>(dir);
    const double now = unix_time_now();
    for (auto it = scalars.begin(); it != scalars.end(); ++it) file_->add_scalar(it.key(), it.value().get<double>(), step, now);
    for (auto it = texts.begin(); it != texts.end(); ++it) file_->add_text(it.key(), it.value().get<std::string>(), step, now);
    file_->flush();
  });
}

void TensorBoardCallback::on_train_end(const Args&, TrainerState& state, TrainerControl&, CallbackContext&) {
  if (!state.is_world_process_zero) return;
  writer_->enqueue([this] {
    if (file_) {
      auto file = std::move(file_);
      file->close();
    }
  });
  writer_->finish();
  // The directory stays: a log after training (a final evaluation) opens a new file beside this one.
}

}  // namespace trainer
