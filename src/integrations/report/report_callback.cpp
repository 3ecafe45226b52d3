#include "trainer/integrations/report/report_callback.h"

#include <filesystem>

#include "trainer/core/atomic_file.h"
#include "trainer/integrations/report/html_report.h"

namespace trainer {

namespace fs = std::filesystem;

ReportCallback::ReportCallback(double min_interval_seconds)
    : min_interval_(min_interval_seconds), writer_(std::make_unique<BackgroundWriter>("report", 4)) {}

void ReportCallback::write(const Args& args, const TrainerState& state) {
  if (!state.is_world_process_zero) return;
  last_ = std::chrono::steady_clock::now();
  ++queued_;
  const fs::path path = fs::path(args.output_dir) / "report.html";
  // Snapshots: the loop goes on changing the state while the page is rendered.
  Json state_json = state.to_json(), args_json = args.to_json();
  const bool running = running_;
  writer_->enqueue([path, state_json = std::move(state_json), args_json = std::move(args_json), running] {
    fs::create_directories(path.parent_path());
    write_file_atomic(path, render_report_html(state_json, args_json, running), Durability::kReplaceOnly);
  });
}

void ReportCallback::on_train_begin(const Args& args, TrainerState& state, TrainerControl&, CallbackContext&) {
  running_ = true;
  write(args, state);
}

void ReportCallback::on_log(const Args& args, TrainerState& state, TrainerControl&, CallbackContext&) {
  if (std::chrono::duration<double>(std::chrono::steady_clock::now() - last_).count() >= min_interval_) write(args, state);
}

void ReportCallback::on_evaluate(const Args& args, TrainerState& state, TrainerControl&, CallbackContext&) {
  write(args, state);
}

void ReportCallback::on_save(const Args& args, TrainerState& state, TrainerControl& control, CallbackContext& ctx) {
  on_log(args, state, control, ctx);  // saves can come every step; the page keeps to its interval
}

void ReportCallback::on_train_end(const Args& args, TrainerState& state, TrainerControl&, CallbackContext&) {
  running_ = false;
  write(args, state);
  writer_->finish();
}

}  // namespace trainer
