#pragma once
// Trainer: the training loop of the original, with evaluation, prediction, logging and
// checkpoints. Callbacks observe and steer it; to change what a step computes, subclass Trainer and
// override the virtual methods below (compute_loss, training_step, prediction_step, ...).
//
// Thread-safety: a Trainer is used from one thread. It does not copy the model; the model must
// outlive it.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <torch/optim/optimizer.h>
#include <torch/types.h>

#include "trainer/core/callback_handler.h"
#include "trainer/core/lr_scheduler.h"
#include "trainer/core/trainer_control.h"
#include "trainer/core/trainer_state.h"
#include "trainer/core/training_arguments.h"
#include "trainer/core/training_plan.h"
#include "trainer/torch/checkpoint_manager.h"
#include "trainer/torch/data_loader.h"
#include "trainer/torch/evaluation_loop.h"
#include "trainer/torch/loop_state.h"
#include "trainer/torch/model.h"
#include "trainer/torch/runtime_environment.h"

namespace trainer {

class DataParallelStrategy;
class ProcessGroup;

struct TrainOutput {
  int64_t global_step = 0;
  double training_loss = 0;
  Json metrics;
  int64_t max_steps = 0;     // the planned total
  std::string resumed_from;  // the checkpoint the run resumed from, or empty
  // The checkpoint resumed from had already trained every planned step: nothing was trained,
  // no event fired and no file was written.
  bool already_complete = false;
};

struct PredictionOutput {
  torch::Tensor predictions;  // logits, undefined with prediction_loss_only
  torch::Tensor label_ids;
  Json metrics;
};

// Training stopped because the loss became NaN or infinite; what() says at which step and what to try.
class TrainingDivergedError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class Trainer {
 public:
  Trainer(std::shared_ptr<Model> model, TrainingArguments args,
          std::shared_ptr<const TensorDataset> train_dataset = nullptr,
          std::shared_ptr<const TensorDataset> eval_dataset = nullptr,
          std::vector<std::shared_ptr<TrainerCallback>> callbacks = {}, ComputeMetrics compute_metrics = nullptr);
  virtual ~Trainer();
  Trainer(const Trainer&) = delete;
  Trainer& operator=(const Trainer&) = delete;

  // Trains for --max_steps or --num_train_epochs. Throws TrainingDivergedError on a NaN loss.
  // `resume_from_checkpoint` (default: args.resume_from_checkpoint) is a checkpoint directory, or
  // "last" for the newest complete checkpoint in output_dir; training then continues exactly where
  // that checkpoint left it (weights, optimizer, scheduler, RNG, data position, loss accumulators,
  // stateful callbacks). An exception leaving train() after on_train_begin reaches every callback's
  // on_exception first. With --flush_denormal (default) CPU float math flushes subnormals to zero
  // during the call only.
  TrainOutput train(std::optional<std::string> resume_from_checkpoint = std::nullopt);
  // Evaluates on `eval_dataset` (default: the constructor's), logs the metrics and fires on_evaluate.
  Json evaluate(std::shared_ptr<const TensorDataset> eval_dataset = nullptr,
                const std::string& metric_key_prefix = "eval");
  // The metrics of the latest evaluate() on `eval_dataset` (default: the constructor's) if the
  // weights have not changed since; nullopt otherwise. Saves a second evaluation of the same weights
  // after train() when its last evaluation was at the final step.
  std::optional<Json> evaluation_of_current_weights(std::shared_ptr<const TensorDataset> eval_dataset = nullptr) const;
  // Predicts on `test_dataset`; fires on_predict; does not log.
  PredictionOutput predict(std::shared_ptr<const TensorDataset> test_dataset,
                           const std::string& metric_key_prefix = "test");

  void add_callback(std::shared_ptr<TrainerCallback> callback) { handler_.add_callback(std::move(callback)); }
  template <typename C>
  std::shared_ptr<C> add_callback() {
    return handler_.add_callback<C>();
  }
  template <typename C>
  std::shared_ptr<C> pop_callback() {
    return handler_.pop_callback<C>();
  }
  std::shared_ptr<TrainerCallback> pop_callback(const std::shared_ptr<TrainerCallback>& cb) {
    return handler_.pop_callback(cb);
  }
  template <typename C>
  void remove_callback() {
    handler_.remove_callback<C>();
  }
  void remove_callback(const std::shared_ptr<TrainerCallback>& cb) { handler_.remove_callback(cb); }
  CallbackHandler& callback_handler() { return handler_; }

  const TrainingArguments& args() const { return args_; }
  TrainerState& state() { return state_; }
  TrainerControl& control() { return control_; }
  Model& model() { return *model_; }
  torch::Device device() const { return device_; }
  torch::optim::Optimizer* optimizer() { return optimizer_.get(); }
  LRScheduler* lr_scheduler() { return lr_scheduler_.get(); }
  // Device-to-host reads made by the loop so far (one per logged value; none per plain step).
  int64_t host_reads() const { return host_reads_; }
  // Where this process sits in a data-parallel job (rank 0 of 1 without one), and its process
  // group (nullptr in a single process). See docs/distributed.md.
  const ProcessInfo& process() const { return process_; }
  ProcessGroup* process_group();

  // Time the training loop spent in checkpoint saves (serialising, and with --save_async nothing
  // else), and how many saves, in the last train() call.
  double save_stall_seconds() const { return save_stall_seconds_; }
  int64_t saves() const { return checkpoints_.saves(); }

  // Writes the weights (model.safetensors) and the arguments (training_args.json) to `dir`.
  void save_model(const std::string& dir);
  // The state as <output_dir>/trainer_state.json (the original's save_state), for tools that read
  // a finished run, such as `trainer report`.
  void save_state();

 protected:
  // The loss of one batch (cross-entropy with --label_smoothing_factor). `logits`, when given,
  // receives the model's outputs.
  virtual torch::Tensor compute_loss(Model& model, const Batch& batch, torch::Tensor* logits = nullptr);
  // Forward and backward of one micro-batch. The loss is divided by the number of micro-batches in
  // the current accumulation group (current_gradient_accumulation_steps_) before backward; returns
  // the detached, divided loss that is accumulated for logging.
  virtual torch::Tensor training_step(Model& model, const Batch& batch);
  virtual PredictionStepOutput prediction_step(Model& model, const Batch& batch, bool prediction_loss_only);
  virtual void create_optimizer();
  virtual void create_scheduler(int64_t num_training_steps);
  virtual std::unique_ptr<TensorDataLoader> get_train_dataloader();
  virtual std::unique_ptr<TensorDataLoader> get_eval_dataloader(std::shared_ptr<const TensorDataset> dataset);
  // Adds "epoch", appends {logs..., "step"} to log_history and fires on_log (callbacks may edit logs).
  virtual void log(Json& logs);
  // Checks, before the first step, that the model's outputs fit the labels: with the default
  // cross-entropy loss, one row of at least (largest label + 1) logits per example. `logits` are the
  // model's outputs for `sample`, the first training batch. A subclass whose compute_loss expects
  // other outputs overrides this. Throws ArgumentError.
  virtual void check_model_outputs(const torch::Tensor& logits, const Batch& sample, int64_t largest_label);

  // Reads a scalar from the device; the only way the loop synchronises with it.
  double read_scalar(const torch::Tensor& t);

  std::shared_ptr<Model> model_;
  TrainingArguments args_;
  std::shared_ptr<const TensorDataset> train_dataset_;
  std::shared_ptr<const TensorDataset> eval_dataset_;
  ComputeMetrics compute_metrics_;
  CallbackHandler handler_;
  TrainerState state_;
  TrainerControl control_;
  ProcessInfo process_;
  torch::Device device_;
  std::unique_ptr<torch::optim::Optimizer> optimizer_;
  std::unique_ptr<LRScheduler> lr_scheduler_;
  std::unique_ptr<TensorDataLoader> train_loader_;
  std::unique_ptr<TensorDataLoader> eval_loader_;
  int64_t current_gradient_accumulation_steps_ = 1;

 private:
  struct EvaluationRecord {
    Json metrics;
    const TensorDataset* dataset = nullptr;
    int64_t weights_version = 0;
  };

  // The phases of train(), in order.
  TrainingPlan prepare_run();
  TrainOutput nothing_to_do(const ResumePoint& resume, const TrainingPlan& plan);
  void set_up_training(const TrainingPlan& plan);
  TrainOutput run_training(const TrainingPlan& plan, const ResumePosition& from, LoopState& loop);
  void run_epoch(const TrainingPlan& plan, int64_t epoch, int64_t first_micro_batch, LoopState& loop);
  // `synchronize`: the last micro-batch of a step, whose backward pass averages the gradients over ranks.
  void accumulate_micro_batch(const Batch& batch, LoopState& loop, bool synchronize);
  void optimizer_step(LoopState& loop);
  void maybe_log_save_evaluate(LoopState& loop);
  TrainOutput finish_training(LoopState& loop, int64_t first_step);

  // Pieces of the phases.
  // The evaluation data against the training data, and one batch through the model.
  void validate_data_and_model();
  // The loop's accumulators on the host: the only read of them (counted in host_reads()). In a
  // data-parallel job, the mean loss and the total NaN count over ranks (a collective).
  LoopState::Accumulated read_accumulators(const LoopState& loop);
  void log_training_loss(LoopState& loop);
  void evaluate_during_training();
  // Throws TrainingDivergedError when the NaN/Inf losses counted since the last log cannot be
  // filtered away (filter off, all of them, or the weights themselves non-finite). `nonfinite` is
  // every rank's count (read_accumulators sums it); `micro_batches` is this rank's.
  void check_divergence(int64_t nonfinite, int64_t micro_batches, bool at_log);
  // Moves the operations counted since the last log into state_.total_flos (summed over ranks).
  void store_flos(LoopState& loop);
  void save_checkpoint(LoopState& loop);
  // What a checkpoint saves and restores, lent to the checkpoint manager.
  CheckpointSubjects checkpoint_subjects();
  // on_checkpoint_published for every checkpoint the writer has completed since the last call.
  void deliver_published_checkpoints();
  // Performance hints, never in the hot path: the machine's once per process; subnormal optimizer
  // state (with --flush_denormal false) once per run, from step kSubnormalCheckStep.
  static void log_machine_hints_once(const RuntimeEnvironment& env);
  void check_subnormal_state_once();
  static constexpr int64_t kSubnormalCheckStep = 1000;
  Json evaluation_speed_metrics(const std::string& prefix, std::chrono::steady_clock::time_point start) const;
  // The evaluation loop over eval_loader_ (evaluation_loop.h), calling back into this Trainer.
  EvaluationResult run_evaluation_loop(const std::string& prefix, bool keep_predictions);
  torch::Tensor clip_gradients(double max_norm);
  double current_learning_rate() const;
  void zero_grad();

  // The data-parallel part: a no-op in a single process (distributed/data_parallel.h).
  std::unique_ptr<DataParallelStrategy> parallel_;
  bool subnormal_state_checked_ = false;
  int64_t host_reads_ = 0;
  int64_t weights_version_ = 0;  // bumped by every optimizer step and every load of weights
  std::optional<EvaluationRecord> last_evaluation_;
  std::vector<torch::Tensor> parameters_;
  std::vector<std::string> parameter_names_;
  std::vector<torch::Tensor> grads_;
  CheckpointManager checkpoints_;
  double save_stall_seconds_ = 0;
  int64_t initial_tokens_seen_ = 0;               // state.num_input_tokens_seen when this train() call began
  bool logging_training_loss_ = false;            // log() is logging the training loss (adds the token speed)
  bool trained_ = false;                          // train() has prepared the model once
  double model_placement_seconds_ = 0;            // moving the model to its device, rounded to 4 places
  std::optional<double> model_preparation_time_;  // set by an evaluation before any training
  double flos_per_example_ = 0;
  std::chrono::steady_clock::time_point train_start_;
};

}  // namespace trainer
