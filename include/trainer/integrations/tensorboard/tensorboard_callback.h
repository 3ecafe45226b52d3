#pragma once
// TensorBoardCallback (`--report_to tensorboard`): the run as TensorBoard event files.
//   on_train_begin  a new event file; the arguments (JSON) and the model's description as text
//   on_log          every number (bools included) as a scalar train/..., eval/..., test/... at
//                   global_step; strings as text; anything else is dropped with one warning per key;
//                   the file is flushed after every log, so TensorBoard sees each evaluation at once
//   on_train_end    drained and closed; a later log or train() starts a new file in the same
//                   directory (the original's writer is re-created the same way)
// The log directory: TENSORBOARD_LOGGING_DIR (~ expanded), else --logging_dir, else
// <output_dir>/runs/<Mon DD_HH-MM-SS>_<hostname>. Only world process zero writes; all file work
// happens on the callback's BackgroundWriter.

#include <filesystem>
#include <memory>
#include <set>
#include <string>

#include "trainer/core/background_writer.h"
#include "trainer/core/callback.h"

namespace trainer {

class EventFileWriter;

class TensorBoardCallback : public TrainerCallback {
 public:
  // `log_dir` empty: resolved from the environment and the arguments as above.
  explicit TensorBoardCallback(std::string log_dir = "");
  ~TensorBoardCallback() override;

  void on_train_begin(const Args& args, TrainerState& state, TrainerControl& control, CallbackContext& ctx) override;
  void on_log(const Args& args, TrainerState& state, TrainerControl& control, CallbackContext& ctx) override;
  void on_train_end(const Args& args, TrainerState& state, TrainerControl& control, CallbackContext& ctx) override;

  // The directory of the current (or last) event file; empty before training.
  std::string log_dir() const { return resolved_; }
  BackgroundWriter& writer() { return *writer_; }

 private:
  void resolve_log_dir(const Args& args);
  EventFileWriter& file(const std::filesystem::path& dir);

  std::string log_dir_;
  std::string resolved_;
  std::unique_ptr<EventFileWriter> file_;  // used only by jobs on writer_
  std::set<std::string> warned_keys_;
  std::unique_ptr<BackgroundWriter> writer_;
};

// The directory TensorBoardCallback writes to for these arguments (see above).
std::string tensorboard_log_dir(const TrainingArguments& args);

}  // namespace trainer
