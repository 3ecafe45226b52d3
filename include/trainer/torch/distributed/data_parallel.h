#pragma once
// DataParallelStrategy: the Trainer's data-parallel part (docs/distributed.md), one object the loop
// asks at fixed points. create() gives the single-process strategy, whose every step is a no-op or
// what one process does, or, for a process of a job of several (torchrun's variables), the
// distributed one: it joins the job's c10d process group, checks that every rank has rank 0's
// arguments and model and gives them rank 0's weights, and from then on each call below is a
// collective that every rank makes at the same point of the loop.

#include <cstdint>
#include <exception>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <torch/types.h>

#include "trainer/torch/checkpoint_writer.h"
#include "trainer/torch/loop_state.h"

namespace trainer {

class Model;
class ProcessGroup;
struct ProcessInfo;
struct TrainerControl;
struct TrainingArguments;

class DataParallelStrategy {
 public:
  // `process`, `args` and `model` must outlive the strategy (the Trainer holds them).
  static std::unique_ptr<DataParallelStrategy> create(const ProcessInfo& process, const TrainingArguments& args,
                                                      Model& model, torch::Device device);
  virtual ~DataParallelStrategy() = default;

  // The job's process group; nullptr in a single process.
  virtual ProcessGroup* process_group() = 0;

  // Every rank takes the same branch: the control flags (and a stop signal) OR-ed over ranks.
  virtual void synchronize_control(TrainerControl& control) = 0;
  // Rank 0's buffers (running statistics) to every rank, before each step (--ddp_broadcast_buffers).
  virtual void broadcast_buffers() = 0;
  // For a run's parameters: the reducer that averages gradients during backward
  // (--ddp_bucket_cap_mb, --ddp_find_unused_parameters).
  virtual void prepare_training(const std::vector<torch::Tensor>& parameters,
                                const std::vector<std::string>& names) = 0;
  // Around the backward pass of a micro-batch; `synchronize`: the last of a step, whose gradients
  // are averaged over ranks. `step` is the step being taken (for the unused-parameter warning).
  virtual void before_backward(bool synchronize) = 0;
  virtual void after_backward(bool synchronize, int64_t step) = 0;
  // The loop's accumulators over the job: the mean loss, the total NaN count.
  virtual LoopState::Accumulated over_ranks(LoopState::Accumulated local) = 0;
  // A count over the job (floating-point operations).
  virtual double sum_over_ranks(double local) = 0;
  // Every rank's part of an evaluation of `total` examples: the loss sum over ranks, and (when
  // collected) the logits and labels gathered in dataset order, so every rank sees one process's.
  virtual void combine_evaluation_shards(torch::Tensor& loss_sum, std::vector<torch::Tensor>& logits,
                                         std::vector<torch::Tensor>& labels, bool collect, int64_t total) = 0;
  // The random state files of a checkpoint: rng_state.pth alone, or rng_state_<rank>.pth of every
  // rank, all written by rank 0; and reading this rank's back.
  virtual void add_rng_state_files(CheckpointFiles& files, bool is_world_process_zero) = 0;
  virtual void restore_rng_state(const std::filesystem::path& dir) = 0;
  // Rank 0's weights (after it loaded the best checkpoint) to every rank, which read no file; true
  // when the weights may have changed here.
  virtual bool share_weights_of_rank_zero() = 0;
  // A restored LoopState in this job: a warning when the checkpoint's world size differs, and the
  // NaN count (a total over the ranks that wrote it) kept on rank 0 only.
  virtual void restore_loop(LoopState& loop, bool is_world_process_zero) = 0;
  // Lets the other ranks know why this one stops, so that their errors name it.
  virtual void report_failure(std::exception_ptr error) noexcept = 0;
};

}  // namespace trainer
