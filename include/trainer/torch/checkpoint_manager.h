#pragma once
// CheckpointManager: the Trainer's checkpoints, in one place. It finds the checkpoint a run resumes
// from (a named one, the newest complete one, or one a registered CheckpointSource names), checks it
// against the current arguments and data, restores it in one fixed order, saves new ones (copying the
// state at once and writing it through a CheckpointWriter, in the background with --save_async),
// rotates them (--save_total_limit, never the best), tells callbacks when one is complete, and
// loads the best model at the end.
//
// It owns no training object: each call is given the ones it reads or restores (CheckpointSubjects).
// Only world rank 0 writes; every rank takes part in a save (the RNG states of every rank go in).

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "trainer/core/trainer_state.h"
#include "trainer/torch/checkpoint_writer.h"
#include "trainer/torch/loop_state.h"
#include "trainer/torch/optimizer_state.h"

namespace torch::optim {
class Optimizer;
}

namespace trainer {

class CallbackHandler;
class DataParallelStrategy;
class LRScheduler;
class Model;
struct ProcessInfo;
struct TrainerControl;
struct TrainingArguments;

// The objects a checkpoint holds, owned by the Trainer and lent for one call.
struct CheckpointSubjects {
  Model& model;
  torch::optim::Optimizer& optimizer;
  LRScheduler& scheduler;
  DataParallelStrategy& parallel;
  CallbackHandler& callbacks;
  TrainerState& state;
  TrainerControl& control;
};

// A checkpoint to resume from, with its state files read once.
struct ResumePoint {
  std::filesystem::path dir;
  TrainerState state;
  std::optional<LoopState> loop;
};

class CheckpointManager {
 public:
  // `args` and `process` must outlive the manager (the Trainer's own).
  CheckpointManager(const TrainingArguments& args, const ProcessInfo& process);
  ~CheckpointManager();
  CheckpointManager(const CheckpointManager&) = delete;
  CheckpointManager& operator=(const CheckpointManager&) = delete;

  // ---- resuming
  // `request` overrides --resume_from_checkpoint; with neither, the registered checkpoint sources
  // are asked. Throws ArgumentError for a named checkpoint that cannot be resumed from.
  std::optional<ResumePoint> find_resume_point(const std::optional<std::string>& request, torch::Device device) const;
  // Warns of each argument that differs from the checkpoint's and changes training; refuses
  // (ArgumentError) differences in the batches unless --force_resume.
  void check_resume_compatible(const ResumePoint& resume, int64_t train_examples) const;
  // Weights, optimizer, scheduler, random state, trainer and loop state, callbacks: one order.
  void restore(ResumePoint& resume, CheckpointSubjects subjects, LoopState& loop) const;

  // ---- saving
  // A new run: a new writer (--save_async), the count of saves at zero.
  void begin_run();
  // Writes checkpoint-<global_step> from the subjects' current state. `accumulated` is the loop's
  // accumulators read on the host (absent with --save_only_model: no optimizer or loop state).
  void save(CheckpointSubjects subjects, const LoopState& loop,
            const std::optional<LoopState::Accumulated>& accumulated, int64_t train_examples);
  // on_checkpoint_published for every checkpoint completed since the last call; never blocks.
  void publish_completed(CallbackHandler& callbacks, TrainerState& state, TrainerControl& control);
  // Waits for the save in flight (rethrowing its failure), then publishes.
  void finish_writing(CallbackHandler& callbacks, TrainerState& state, TrainerControl& control);

  // ---- the end of training
  // Loads the best checkpoint's weights; false (with a warning) when they are gone.
  bool load_best_model(Model& model, const TrainerState& state) const;
  // --save_total_limit 1 with a best checkpoint: every other checkpoint goes.
  void delete_all_but_best(const TrainerState& state) const;

  // Trainer::save_state and Trainer::save_model (world rank 0 only).
  void save_state(const TrainerState& state) const;
  void save_model(Model& model, const std::string& dir) const;

  int64_t saves() const { return saves_; }

 private:
  std::optional<std::filesystem::path> resolve_resume_dir(const std::optional<std::string>& request) const;
  void set_best_model_checkpoint(TrainerState& state) const;

  const TrainingArguments& args_;
  const ProcessInfo& process_;
  std::string args_json_text_;  // training_args.json, serialised once (the arguments do not change)
  std::unique_ptr<CheckpointWriter> writer_;
  SnapshotPool snapshot_pool_;
  int64_t saves_ = 0;
};

// Restores the states that stateful callbacks exported (and TrainerControl's) in place; warns of
// names that match no callback.
void restore_callback_states(CallbackHandler& callbacks, TrainerControl& control, const Json& stored);
// The states to store: replaced (not appended) on every save; duplicates become a list.
Json stateful_callback_states(const CallbackHandler& callbacks, const TrainerControl& control);

}  // namespace trainer
