#pragma once
// TensorBoardCallback (`--report_to tensorboard`): the run as TensorBoard event files.
//   on_train_begin  a new event file; the arguments (JSON) and the model's description as text
//   on_log          every number (bools included) as a scalar train/..., eval/..., test/... at
//                   global_step; strings as text; anything else is dropped with one warning per key;
//                   the file is flushed after every log, so TensorBoard sees each evaluation at once
//   on_train_end    drained and closed; a later log or train() starts a new file in the same
//                   directory (the original's writer is re-created the same way)
// The log directory: TENSORBOARD_LOGGING_DIR (~ expanded), else --logging_dir, else
// <output_dir>/runs/<Mon DD_HH-MM-SS>_<hostname>. Only world process zero writes (the tracker
// layer's gating, key rewriting and value filter); all file work happens on a BackgroundWriter.

#include <memory>
#include <string>

#include "trainer/core/background_writer.h"
#include "trainer/tracking/tracker_callback.h"

namespace trainer {

class TensorBoardCallback : public TrackerCallback {
 public:
  // `log_dir` empty: resolved from the environment and the arguments as above.
  explicit TensorBoardCallback(std::string log_dir = "");
  ~TensorBoardCallback() override;

  // The directory of the current (or last) event file; empty before training.
  std::string log_dir() const;
  BackgroundWriter& writer();

  struct Output;  // the event file and its writer thread, shared with the callback's tracker

 private:
  explicit TensorBoardCallback(std::shared_ptr<Output> output);
  std::shared_ptr<Output> output_;
};

// The directory TensorBoardCallback writes to for these arguments (see above).
std::string tensorboard_log_dir(const TrainingArguments& args);

}  // namespace trainer
