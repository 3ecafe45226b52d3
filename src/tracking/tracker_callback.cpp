#include "trainer/tracking/tracker_callback.h"

#include "trainer/callbacks/preemption_callback.h"
#include "trainer/core/argument_spec.h"
#include "trainer/core/logging.h"
#include "trainer/core/trainer_control.h"
#include "trainer/core/trainer_state.h"
#include "trainer/core/training_arguments.h"

namespace trainer {

TrackerCallback::TrackerCallback(TrackerTraits traits, Factory make_tracker)
    : traits_(std::move(traits)), make_tracker_(std::move(make_tracker)) {}

TrackerCallback::~TrackerCallback() = default;

bool TrackerCallback::reports(const TrainerState& state) const {
  return traits_.gate == ProcessGate::world_process_zero ? state.is_world_process_zero : state.is_local_process_zero;
}

// A tracker that fails (its folder cannot be made, a bug) is turned off with one warning: a
// tracker never stops training. Its configuration errors (ArgumentError: a bad variable or config
// file, found when it is set up) stop the run before training, as every other bad input does.
template <typename Call>
void TrackerCallback::guarded(Call&& call) {
  if (failed_) return;
  try {
    call();
  } catch (const ArgumentError&) {
    throw;
  } catch (const std::exception& e) {
    failed_ = true;
    log_warning(traits_.callback_name + ": " + e.what() +
                "; this tracker is off for the rest of the run (training goes on)");
  }
}

bool TrackerCallback::enter(const Args& args, const TrainerState& state, const CallbackContext& ctx) {
  if (!reports(state) || failed_) return false;
  guarded([&] { setup(args, state, ctx); });
  if (failed_ || !tracker_) return false;
  tracker_->args_ = &args;
  tracker_->state_ = &state;
  tracker_->ctx_ = &ctx;
  return true;
}

void TrackerCallback::setup(const Args& args, const TrainerState& state, const CallbackContext& ctx) {
  if (tracker_) return;
  tracker_ = make_tracker_(args);
  tracker_->args_ = &args;
  tracker_->state_ = &state;
  tracker_->ctx_ = &ctx;
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
}

Json TrackerCallback::filtered(const Json& logs) {
  if (traits_.values == ValueFilter::everything) return logs;
  Json out = Json::object();
  for (auto it = logs.begin(); it != logs.end(); ++it) {
    const Json& v = it.value();
    const bool keep = v.is_number() || (v.is_boolean() && traits_.values != ValueFilter::numbers) ||
                      (v.is_string() && traits_.values == ValueFilter::numbers_bools_strings);
    if (keep) {
      const bool as_number =
          v.is_boolean() && (traits_.values == ValueFilter::numbers_and_bools || traits_.bools_as_numbers);
      out[traits_.keys ? traits_.keys(it.key()) : it.key()] = as_number ? Json(v.get<bool>() ? 1 : 0) : v;
    } else if (warned_keys_.insert(it.key()).second) {
      log_warning(traits_.callback_name + ": '" + it.key() + "' is a " + std::string(v.type_name()) + " (" +
                  dump_json(v, {-1, false, false}) + "), which it cannot log; it is left out of this tracker");
    }
  }
  return out;
}

void TrackerCallback::on_init_end(const Args& args, TrainerState& state, TrainerControl&, CallbackContext& ctx) {
  if (traits_.start_at_init) enter(args, state, ctx);
}

void TrackerCallback::on_train_begin(const Args& args, TrainerState& state, TrainerControl&, CallbackContext& ctx) {
  if (!enter(args, state, ctx)) return;
  running_ = true;
  guarded([&] { tracker_->train_started(); });
}

void TrackerCallback::on_log(const Args& args, TrainerState& state, TrainerControl&, CallbackContext& ctx) {
  if (!ctx.logs && traits_.values != ValueFilter::everything) return;
  if (!enter(args, state, ctx)) return;
  const Json values = ctx.logs ? filtered(*ctx.logs) : Json::object();
  if (values.empty() && traits_.values != ValueFilter::everything) return;
  guarded([&] { tracker_->log_metrics(values, state.global_step); });
}

void TrackerCallback::on_evaluate(const Args& args, TrainerState& state, TrainerControl&, CallbackContext& ctx) {
  if (!tracker_ || !enter(args, state, ctx)) return;
  guarded([&] { tracker_->evaluated(ctx.metrics ? *ctx.metrics : Json::object()); });
}

void TrackerCallback::on_predict(const Args& args, TrainerState& state, TrainerControl&, CallbackContext& ctx) {
  if (!enter(args, state, ctx) || !ctx.metrics) return;
  guarded([&] { tracker_->predicted(*ctx.metrics); });
}

void TrackerCallback::on_save(const Args& args, TrainerState& state, TrainerControl&, CallbackContext& ctx) {
  if (tracker_ && enter(args, state, ctx)) guarded([&] { tracker_->checkpoint_saved(); });
}

void TrackerCallback::on_checkpoint_published(const Args& args, TrainerState& state, TrainerControl&,
                                              CallbackContext& ctx) {
  if (!tracker_ || !traits_.artifacts || ctx.checkpoint_dir.empty() || !enter(args, state, ctx)) return;
  const std::filesystem::path dir = ctx.checkpoint_dir;
  guarded([&] { tracker_->log_artifact(dir, dir.filename().string()); });
}

void TrackerCallback::end_run(RunStatus status) {
  if (!tracker_ || !running_) return;
  running_ = false;
  guarded([&] { tracker_->finish(status); });
}

void TrackerCallback::on_exception(const Args& args, TrainerState& state, TrainerControl&, CallbackContext& ctx) {
  if (tracker_ && enter(args, state, ctx)) end_run(RunStatus::failed);
}

void TrackerCallback::on_train_end(const Args& args, TrainerState& state, TrainerControl&, CallbackContext& ctx) {
  if (!tracker_ || !enter(args, state, ctx)) return;
  end_run(PreemptionCallback::requested_signal() != 0 ? RunStatus::killed : RunStatus::finished);
}

Json TrackerCallback::tracker_state() const { return tracker_ ? tracker_->saved_state() : restored_; }

void TrackerCallback::restore_tracker_state(const Json& state) {
  restored_ = state;
  if (tracker_) tracker_->restore_state(restored_);
}

Json StatefulTrackerCallback::state() const { return Json{{"args", Json::object()}, {"attributes", tracker_state()}}; }

void StatefulTrackerCallback::load_state(const Json& state) {
  restore_tracker_state(state.value("attributes", Json::object()));
}

}  // namespace trainer
