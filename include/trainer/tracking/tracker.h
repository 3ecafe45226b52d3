#pragma once
// Tracker: what one experiment-tracking service does with a run. TrackerCallback (tracker_callback.h)
// turns the Trainer's events into these calls and owns what every integration of the original
// repeats; a tracker only says how its service stores a run. docs/writing-a-tracker.md shows one.

#include <cstdint>
#include <filesystem>
#include <string>

#include "trainer/core/callback.h"
#include "trainer/core/json.h"

namespace trainer {

class TrackerCallback;

enum class RunStatus { finished, failed, killed };
const char* to_string(RunStatus status);

struct RunStart {
  std::string run_name;           // --run_name, empty when not given
  Json arguments;                 // TrainingArguments::to_json() (secrets left out)
  std::string model_description;  // the model's description
  std::string output_dir;
  bool resumed = false;     // training continues from a checkpoint ...
  int64_t resume_step = 0;  // ... taken at this global step

  // The model description as a JSON object (the model's configuration), or null when it is not one.
  Json model_config() const;
  // The original's combined dict (W&B, Trackio): the model's configuration overlaid by the
  // arguments, plus model/num_parameters when the model says how many it has.
  Json combined_config() const;
};

class Tracker {
 public:
  virtual ~Tracker() = default;
  // Once, before anything else (lazily: on the first of on_train_begin, on_log, on_predict; at
  // on_init_end for trackers whose traits ask for it).
  virtual void start_run(const RunStart& run) = 0;
  // At every on_train_begin (a callback may see several train() calls).
  virtual void train_started() {}
  // Right after start_run, unless resumed: the run's parameters (the arguments, one JSON object).
  virtual void log_params(const Json& params) {}
  // The values of one log that pass the tracker's filter, keys already rewritten as it asked.
  virtual void log_metrics(const Json& values, int64_t step) = 0;
  // After an evaluation (on_evaluate), with its metrics.
  virtual void evaluated(const Json& metrics) {}
  // Trainer::predict's metrics (on_predict; test_* keys, not filtered nor rewritten), for trackers
  // that log them as the original's W&B and Comet callbacks do.
  virtual void predicted(const Json& metrics) {}
  // A checkpoint whose every file is on disk (only for trackers whose traits ask for artifacts).
  // The files stay only until this returns: link or copy them to upload later.
  virtual void log_artifact(const std::filesystem::path& dir, const std::string& name) {}
  // A checkpoint was saved: make what was logged so far durable (journals are synced here).
  virtual void checkpoint_saved() {}
  // The end of train(): finished, failed (an exception) or killed (SIGTERM/SIGINT). Logging may
  // go on afterwards (a final evaluation): it goes to the same run.
  virtual void finish(RunStatus status) = 0;
  // Kept with each checkpoint (stateful_callbacks) and given back on resume: the remote run's id.
  virtual Json saved_state() const { return Json::object(); }
  virtual void restore_state(const Json& state) {}

 protected:
  // The run as it is at the event being handled, for trackers that write more than the values
  // given (log_history, the report): valid only during a call from TrackerCallback.
  const TrainingArguments& args() const { return *args_; }
  const TrainerState& state() const { return *state_; }
  const CallbackContext& context() const { return *ctx_; }

 private:
  friend class TrackerCallback;
  const TrainingArguments* args_ = nullptr;
  const TrainerState* state_ = nullptr;
  const CallbackContext* ctx_ = nullptr;
};

}  // namespace trainer
