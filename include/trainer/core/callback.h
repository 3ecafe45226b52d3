#pragma once
// TrainerCallback: observes the training loop and steers it through TrainerControl.
// Every event receives the arguments, the state, the control and a CallbackContext holding what the
// original passes as keyword arguments. Callbacks observe and steer; to change what a step computes,
// subclass Trainer instead.

#include <exception>
#include <functional>
#include <string>
#include <typeinfo>

#include "trainer/core/json_fwd.h"

// Forward declarations keep this header (and every callback) free of LibTorch, and the arguments',
// state's and JSON's implementations out of every file that only declares a callback: a callback's
// source includes what its events read (training_arguments.h, trainer_state.h, trainer_control.h).
namespace torch::optim {
class Optimizer;
}

namespace trainer {

class DataLoader;
class LRScheduler;
class Model;
struct TrainerControl;
struct TrainerState;
struct TrainingArguments;

// The live objects of the run (non-owning; null until they exist, see docs/callbacks.md):
//   model            set from construction
//   optimizer        set just before on_train_begin
//   lr_scheduler     set just before on_train_begin
//   train_dataloader set just before on_train_begin
//   eval_dataloader  the loader of the most recent evaluation or prediction
//   logs             on_log only: the dict being logged; callbacks may add, change or remove keys
//   metrics          on_evaluate and on_predict only
//   model_description  the model's description (Model::describe()), set from construction
//   save_model       writes the model as it is now to a directory (model.safetensors and
//                    training_args.json, as Trainer::save_model); set from construction
//   checkpoint_dir   on_checkpoint_published only: the checkpoint whose every file is on disk
//   exception        on_exception only: what is leaving train()
//   exception_message  on_exception only: its what()
struct CallbackContext {
  Model* model = nullptr;
  torch::optim::Optimizer* optimizer = nullptr;
  LRScheduler* lr_scheduler = nullptr;
  DataLoader* train_dataloader = nullptr;
  DataLoader* eval_dataloader = nullptr;
  Json* logs = nullptr;
  const Json* metrics = nullptr;
  std::string model_description;
  std::function<void(const std::string& dir)> save_model;
  std::string checkpoint_dir;
  std::exception_ptr exception;
  std::string exception_message;
};

class TrainerCallback {
 public:
  virtual ~TrainerCallback() = default;

  // The class name used in warnings, callback_list() and stateful_callbacks. The default is the
  // C++ class name without namespaces.
  virtual std::string name() const;

  using Args = TrainingArguments;
  virtual void on_init_end(const Args&, TrainerState&, TrainerControl&, CallbackContext&) {}
  virtual void on_train_begin(const Args&, TrainerState&, TrainerControl&, CallbackContext&) {}
  virtual void on_train_end(const Args&, TrainerState&, TrainerControl&, CallbackContext&) {}
  virtual void on_epoch_begin(const Args&, TrainerState&, TrainerControl&, CallbackContext&) {}
  virtual void on_epoch_end(const Args&, TrainerState&, TrainerControl&, CallbackContext&) {}
  virtual void on_step_begin(const Args&, TrainerState&, TrainerControl&, CallbackContext&) {}
  virtual void on_substep_end(const Args&, TrainerState&, TrainerControl&, CallbackContext&) {}
  // Gradients are clipped and may be read or changed here, before optimizer.step().
  virtual void on_pre_optimizer_step(const Args&, TrainerState&, TrainerControl&, CallbackContext&) {}
  // After optimizer.step(), before the scheduler step and zero_grad: gradients are still there.
  virtual void on_optimizer_step(const Args&, TrainerState&, TrainerControl&, CallbackContext&) {}
  virtual void on_step_end(const Args&, TrainerState&, TrainerControl&, CallbackContext&) {}
  virtual void on_evaluate(const Args&, TrainerState&, TrainerControl&, CallbackContext&) {}
  virtual void on_predict(const Args&, TrainerState&, TrainerControl&, CallbackContext&) {}
  virtual void on_save(const Args&, TrainerState&, TrainerControl&, CallbackContext&) {}
  virtual void on_log(const Args&, TrainerState&, TrainerControl&, CallbackContext&) {}
  virtual void on_prediction_step(const Args&, TrainerState&, TrainerControl&, CallbackContext&) {}

  // Not in the original. Fired once a checkpoint is complete on disk (ctx.checkpoint_dir), on the
  // training thread: right after on_save when saving is synchronous; with --save_async once the
  // writer has published it (seen at the next step, the next save, or the end of training, before
  // on_train_end). Every file is there and stays until this event returns: copy or upload here.
  virtual void on_checkpoint_published(const Args&, TrainerState&, TrainerControl&, CallbackContext&) {}
  // Not in the original. Fired when an exception (divergence, a failed save, a callback's error,
  // ...) is about to leave train() after on_train_begin was called; on_train_end is not called then,
  // as in the original. Trackers mark the run failed and flush here. The exception is rethrown
  // afterwards whatever the callbacks do; one that throws here is logged and the others still run.
  virtual void on_exception(const Args&, TrainerState&, TrainerControl&, CallbackContext&) {}
};

// A callback whose state is saved in checkpoints under TrainerState::stateful_callbacks.
// state() returns {"args": constructor arguments, "attributes": attributes to set afterwards}.
class ExportableState {
 public:
  virtual ~ExportableState() = default;
  virtual Json state() const = 0;
  virtual void load_state(const Json& state) = 0;
};

// The class name of an object without namespaces ("trainer::EarlyStoppingCallback" -> "EarlyStoppingCallback").
std::string short_type_name(const std::type_info& type);

}  // namespace trainer
