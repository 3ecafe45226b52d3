#pragma once
// TrainingArguments: the original's configuration fields under the original's names and defaults
// (v5). The original's enums are enum classes (choices.h) with the same spellings.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "trainer/core/argument_spec.h"
#include "trainer/core/choices.h"
#include "trainer/core/json.h"

namespace trainer {

// The most batch-preparation threads --dataloader_num_workers may ask for.
inline constexpr int64_t kMaxDataloaderWorkers = 64;

struct TrainingArguments {
  // Output
  std::string output_dir = "trainer_output";
  std::optional<std::string> run_name;
  std::string project = "huggingface";  // the project of trackers that group runs (trackio)
  std::optional<std::string> logging_dir;

  // Batches, epochs, steps
  int64_t per_device_train_batch_size = 8;
  int64_t per_device_eval_batch_size = 8;
  double num_train_epochs = 3.0;
  int64_t max_steps = -1;
  int64_t gradient_accumulation_steps = 1;

  // Optimizer
  double learning_rate = 5e-5;
  OptimizerNames optim = OptimizerNames::adamw_torch_fused;  // the original's default with a current torch
  std::optional<std::string> optim_args;
  double weight_decay = 0.0;
  double adam_beta1 = 0.9;
  double adam_beta2 = 0.999;
  double adam_epsilon = 1e-8;
  double max_grad_norm = 1.0;
  double label_smoothing_factor = 0.0;

  // Learning-rate schedule
  SchedulerType lr_scheduler_type = SchedulerType::linear;
  Json lr_scheduler_kwargs = Json::object();
  double warmup_steps = 0;             // >= 1: steps; in [0, 1): ratio of max_steps
  std::optional<double> warmup_ratio;  // deprecated: copied into warmup_steps

  // Precision and device
  bool bf16 = false;
  bool fp16 = false;
  bool use_cpu = false;
  // Not in the original: flush-to-zero for float math on the CPU while training. On by default:
  // subnormal optimizer state slowed whole runs 1.9x on an Intel CPU, with no cost measurable on an
  // AMD one (docs/performance.md); false keeps PyTorch's exact numerics.
  bool flush_denormal = true;

  // Logging
  IntervalStrategy logging_strategy = IntervalStrategy::steps;
  double logging_steps = 500;
  bool logging_first_step = false;
  InputTokensSeen include_num_input_tokens_seen = InputTokensSeen::no;  // counted in state and logs
  bool logging_nan_inf_filter = true;
  std::string log_level = "passive";
  std::string log_level_replica = "warning";  // the level of every process but world rank 0
  std::optional<bool> disable_tqdm;
  std::vector<std::string> report_to = {"none"};
  // Not in the original: at the end of training, how long remote trackers may go on sending (seconds);
  // what is still unsent then stays in output_dir/tracking/ for `trainer sync`.
  double tracker_flush_timeout = 30;
  // Flyte (a raw-container task passes its template variables): where checkpoints are synced,
  // the previous attempt's checkpoint to resume from, where deck.html goes. Empty or an unrendered
  // {{...}} template: none. A local path or s3://bucket/prefix.
  std::string flyte_checkpoint_path;
  std::string flyte_prev_checkpoint;
  std::string flyte_output_prefix;

  // Evaluation
  IntervalStrategy eval_strategy = IntervalStrategy::no;
  std::optional<double> eval_steps;
  double eval_delay = 0;
  bool eval_on_start = false;
  bool prediction_loss_only = false;

  // Saving and best model
  SaveStrategy save_strategy = SaveStrategy::steps;
  double save_steps = 500;
  std::optional<int64_t> save_total_limit;
  bool save_only_model = false;
  bool save_async = false;  // not in the original: write checkpoints on a background thread
  bool load_best_model_at_end = false;
  std::optional<std::string> metric_for_best_model;
  std::optional<bool> greater_is_better;
  bool ignore_data_skip = false;
  // true here (the original: false), so early-stopping patience and other callback state survive a resume.
  bool restore_callback_states_from_checkpoint = true;
  std::optional<std::string> resume_from_checkpoint;
  // Not in the original: resume even when the checkpoint's batch layout or data order differs.
  bool force_resume = false;

  // Data-parallel training (docs/distributed.md); read only when WORLD_SIZE > 1.
  std::optional<DdpBackend> ddp_backend;           // None: nccl on CUDA (when built with it), else gloo
  int64_t ddp_timeout = 1800;                      // seconds a collective or the rendezvous may wait for a peer
  std::optional<int64_t> ddp_bucket_cap_mb;        // gradient bucket size in MiB (None: 25, the first bucket 1)
  std::optional<bool> ddp_broadcast_buffers;       // None/true: buffers follow rank 0 at every step
  std::optional<bool> ddp_find_unused_parameters;  // None/true: a parameter no rank used keeps no gradient

  // Reproducibility and data
  int64_t seed = 42;
  std::optional<int64_t> data_seed;
  bool dataloader_drop_last = false;
  int64_t dataloader_num_workers = 0;
  std::optional<int64_t> dataloader_prefetch_factor;
  bool dataloader_pin_memory = true;
  std::string train_sampling_strategy = "random";

  // Applies the original's post-init derivations and validation. Idempotent.
  // Throws ArgumentError naming the flag and what would be valid.
  void finalize();

  // Every argument, secrets left out, as saved with each run (training_args.json).
  Json to_json() const;
  static TrainingArguments from_json(const Json& json);

  bool do_eval() const { return eval_strategy != IntervalStrategy::no; }
  // Per-step batch of one process (the original multiplies by max(1, n_gpu); one device here).
  int64_t train_batch_size() const { return per_device_train_batch_size; }
  int64_t eval_batch_size() const { return per_device_eval_batch_size; }
  int64_t effective_data_seed() const { return data_seed.value_or(seed); }
  bool disable_tqdm_resolved() const { return disable_tqdm.value_or(false); }
  // The evaluation metric --metric_for_best_model names, with its eval_ prefix (eval_loss when unset).
  std::string best_metric_key() const;
};

// The table behind parsing, help and saving; the specs write into `args`.
std::vector<ArgumentSpec> training_argument_specs(TrainingArguments& args);

// The original's TrainingArguments fields this library does not have, each with why it is refused
// (docs/arguments.md lists every field of the original: same, different, or refused).
const std::vector<std::pair<std::string, std::string>>& original_arguments_not_supported();

// How the arguments a checkpoint was trained with (its training_args.json) differ from `current`,
// one line per argument ("--learning_rate: 0.0005 now, 0.001 in the checkpoint").
struct ResumeDifferences {
  std::vector<std::string> changes_training;
  std::vector<std::string> changes_batches;
};
ResumeDifferences compare_resume_arguments(const Json& saved, const TrainingArguments& current);

// How a data-parallel rank's arguments differ from rank 0's (its to_json()), one line per argument
// that would make it train otherwise or call other collectives ("--learning_rate: 0.002 on rank 1,
// 0.001 on rank 0"); arguments that change only output, logging or trackers are not compared.
std::vector<std::string> compare_rank_arguments(const Json& rank_zero, const TrainingArguments& current, int64_t rank);

// Resolves warmup_steps against the final max_steps (v5 rule: >= 1 are steps, else a ratio).
int64_t num_warmup_steps(const TrainingArguments& args, int64_t max_steps);

}  // namespace trainer
