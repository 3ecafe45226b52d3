#include "trainer/tracking/tracker_callback.h"

#include <cctype>

#include "trainer/callbacks/preemption_callback.h"
#include "trainer/core/logging.h"

namespace trainer {
namespace {

bool mlflow_name_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.' || c == ' ' || c == ':' ||
         c == '/';
}

}  // namespace

const char* to_string(RunStatus status) {
  switch (status) {
    case RunStatus::finished: return "FINISHED";
    case RunStatus::failed: return "FAILED";
    case RunStatus::killed: return "KILLED";
  }
  return "FINISHED";
}

std::string apply_key_style(KeyStyle style, const std::string& key) {
  switch (style) {
    case KeyStyle::as_logged: return key;
    case KeyStyle::rewrite_logs: {
      if (key.rfind("eval_", 0) == 0) return "eval/" + key.substr(5);
      if (key.rfind("test_", 0) == 0) return "test/" + key.substr(5);
      return "train/" + key;
    }
    case KeyStyle::mlflow: {
      std::string out = key;
      for (char& c : out)
        if (!mlflow_name_char(c)) c = '_';
      return out;
    }
  }
  return key;
}

TrackerCallback::TrackerCallback(TrackerTraits traits, Factory make_tracker)
    : traits_(std::move(traits)), make_tracker_(std::move(make_tracker)) {}

TrackerCallback::~TrackerCallback() = default;

bool TrackerCallback::reports(const TrainerState& state) const {
  return traits_.gate == ProcessGate::world_process_zero ? state.is_world_process_zero : state.is_local_process_zero;
}

void TrackerCallback::setup(const Args& args, const TrainerState& state, const CallbackContext& ctx) {
  if (tracker_ || !reports(state)) return;
  tracker_ = make_tracker_(args);
  if (!restored_.empty()) tracker_->restore_state(restored_);
  RunStart run;
  run.run_name = args.run_name.value_or("");
  run.arguments = args.to_json();
  run.model_description = ctx.model_description;
  run.output_dir = args.output_dir;
  run.resumed = state.global_step > 0;
  run.resume_step = state.global_step;
  tracker_->start_run(run);
  if (!run.resumed) tracker_->log_params(run.arguments);
  running_ = true;
}

Json TrackerCallback::filtered(const Json& logs) {
  Json out = Json::object();
  for (auto it = logs.begin(); it != logs.end(); ++it) {
    const Json& v = it.value();
    const bool keep = v.is_number() ||
                      (v.is_boolean() && traits_.values != ValueFilter::numbers) ||
                      (v.is_string() && traits_.values == ValueFilter::numbers_bools_strings);
    if (keep) {
      out[apply_key_style(traits_.keys, it.key())] = v.is_boolean() ? Json(v.get<bool>() ? 1 : 0) : v;
    } else if (warned_keys_.insert(it.key()).second) {
      log_warning(traits_.callback_name + ": '" + it.key() + "' is a " + std::string(v.type_name()) + " (" +
                  dump_json(v, {-1, false, false}) + "), which it cannot log; it is left out of this tracker");
    }
  }
  return out;
}

void TrackerCallback::on_train_begin(const Args& args, TrainerState& state, TrainerControl&, CallbackContext& ctx) {
  setup(args, state, ctx);
  if (tracker_ && !running_) {
    // A second train() on the same callback: the same tracker goes on logging to its run.
    running_ = true;
  }
}

void TrackerCallback::on_log(const Args& args, TrainerState& state, TrainerControl&, CallbackContext& ctx) {
  if (!ctx.logs) return;
  setup(args, state, ctx);
  if (!tracker_) return;
  Json values = filtered(*ctx.logs);
  if (!values.empty()) tracker_->log_metrics(values, state.global_step);
}

void TrackerCallback::on_predict(const Args& args, TrainerState& state, TrainerControl&, CallbackContext& ctx) {
  setup(args, state, ctx);
}

void TrackerCallback::on_save(const Args&, TrainerState&, TrainerControl&, CallbackContext&) {
  if (tracker_) tracker_->checkpoint_saved();
}

void TrackerCallback::on_checkpoint_published(const Args&, TrainerState&, TrainerControl&, CallbackContext& ctx) {
  if (!tracker_ || !traits_.artifacts || ctx.checkpoint_dir.empty()) return;
  const std::filesystem::path dir = ctx.checkpoint_dir;
  tracker_->log_artifact(dir, dir.filename().string());
}

void TrackerCallback::end_run(RunStatus status) {
  if (!tracker_ || !running_) return;
  running_ = false;
  tracker_->finish(status);
}

void TrackerCallback::on_exception(const Args&, TrainerState&, TrainerControl&, CallbackContext&) {
  end_run(RunStatus::failed);
}

void TrackerCallback::on_train_end(const Args&, TrainerState&, TrainerControl&, CallbackContext&) {
  end_run(PreemptionCallback::requested_signal() != 0 ? RunStatus::killed : RunStatus::finished);
}

Json TrackerCallback::state() const {
  return Json{{"args", Json::object()}, {"attributes", tracker_ ? tracker_->saved_state() : restored_}};
}

void TrackerCallback::load_state(const Json& state) {
  restored_ = state.value("attributes", Json::object());
  if (tracker_) tracker_->restore_state(restored_);
}

}  // namespace trainer
