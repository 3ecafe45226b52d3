#pragma once
// TrackerCallback: the one adapter between the Trainer's events and a Tracker. It owns what each
// integration of the original repeats:
//   - process gating: world process zero (or local process zero, as CodeCarbon) talks to the tracker
//   - lazy set-up on the first of on_train_begin, on_log, on_predict (start_run, then log_params)
//   - the key rule the service uses (as logged, the original's rewrite_logs, or the tracker's own)
//   - value filtering with one warning per dropped key
//   - the run's end: finished at on_train_end, failed at on_exception, killed after SIGTERM/SIGINT
//   - checkpoints: on_save makes the tracker's log durable; on_checkpoint_published hands the
//     complete checkpoint to trackers that upload artifacts
//   - the tracker's state (its remote run id) in each checkpoint, given back on resume
//   - a tracker that throws is turned off with one warning: a tracker never stops training

#include <functional>
#include <memory>
#include <set>
#include <string>

#include "trainer/core/callback.h"
#include "trainer/tracking/tracker.h"

namespace trainer {

// How a tracker names a logged key on its service; null keeps the key as logged (MLflow before
// v5, AzureML, and trackers that rename keys themselves). rewrite_log_key (log_keys.h) is the
// original's rewrite_logs (TensorBoard, W&B, Comet, ...); a service with a rule of its own supplies
// it from its folder (mlflow_metric_key).
using KeyRule = std::string (*)(const std::string& key);

enum class ValueFilter {
  numbers,                // int and float; bools and strings dropped with a warning
  numbers_and_bools,      // bools as 0/1
  numbers_bools_strings,  // bools as 0/1, strings kept (TensorBoard text, DVCLive)
  everything,             // the log as it is (log_history files)
};

enum class ProcessGate { world_process_zero, local_process_zero };

struct TrackerTraits {
  std::string callback_name;  // "MLflowCallback": warnings and stateful_callbacks
  KeyRule keys = nullptr;
  ValueFilter values = ValueFilter::numbers;
  ProcessGate gate = ProcessGate::world_process_zero;
  bool artifacts = false;        // log_artifact for each published checkpoint
  bool start_at_init = false;    // start_run at on_init_end, as the original's eager integrations
  bool bools_as_numbers = true;  // with numbers_bools_strings: true as 1 (TensorBoard); false keeps them (DVCLive)
};

class TrackerCallback : public TrainerCallback {
 public:
  using Factory = std::function<std::unique_ptr<Tracker>(const TrainingArguments& args)>;
  TrackerCallback(TrackerTraits traits, Factory make_tracker);
  ~TrackerCallback() override;

  std::string name() const override { return traits_.callback_name; }

  void on_init_end(const Args& args, TrainerState& state, TrainerControl& control, CallbackContext& ctx) override;
  void on_train_begin(const Args& args, TrainerState& state, TrainerControl& control, CallbackContext& ctx) override;
  void on_evaluate(const Args& args, TrainerState& state, TrainerControl& control, CallbackContext& ctx) override;
  void on_log(const Args& args, TrainerState& state, TrainerControl& control, CallbackContext& ctx) override;
  void on_predict(const Args& args, TrainerState& state, TrainerControl& control, CallbackContext& ctx) override;
  void on_save(const Args& args, TrainerState& state, TrainerControl& control, CallbackContext& ctx) override;
  void on_checkpoint_published(const Args& args, TrainerState& state, TrainerControl& control,
                               CallbackContext& ctx) override;
  void on_exception(const Args& args, TrainerState& state, TrainerControl& control, CallbackContext& ctx) override;
  void on_train_end(const Args& args, TrainerState& state, TrainerControl& control, CallbackContext& ctx) override;

  // The tracker once set up (null before, and on processes that do not report).
  Tracker* active_tracker() { return tracker_.get(); }

 protected:
  // For StatefulTrackerCallback: the tracker's state, kept before the tracker exists.
  Json tracker_state() const;
  void restore_tracker_state(const Json& state);

 private:
  bool reports(const TrainerState& state) const;
  // Tells the tracker which event it is in; false when this process does not report.
  bool enter(const Args& args, const TrainerState& state, const CallbackContext& ctx);
  void setup(const Args& args, const TrainerState& state, const CallbackContext& ctx);
  template <typename Call>
  void guarded(Call&& call);
  Json filtered(const Json& logs);
  void end_run(RunStatus status);

  TrackerTraits traits_;
  Factory make_tracker_;
  std::unique_ptr<Tracker> tracker_;
  bool running_ = false;
  bool failed_ = false;
  Json restored_ = Json::object();
  std::set<std::string> warned_keys_;
};

// A tracker whose state (its remote run's id) is kept in each checkpoint under stateful_callbacks
// and given back on resume. Local trackers need none and stay out of trainer_state.json.
class StatefulTrackerCallback : public TrackerCallback, public ExportableState {
 public:
  using TrackerCallback::TrackerCallback;
  Json state() const override;
  void load_state(const Json& state) override;
};

}  // namespace trainer
