#include "trainer/core/training_arguments.h"

#include <cmath>
#include <sstream>

#include "trainer/core/logging.h"
#include "trainer/core/paths.h"

namespace trainer {
namespace {

bool is_integral(double v) { return std::floor(v) == v; }

void check_interval(const std::string& flag, double value) {
  if (value < 0)
    throw ArgumentError("--" + flag + ": must be >= 0 (a step count, or a ratio in [0, 1)), got " +
                        python_float_repr(value));
  if (value > 1 && !is_integral(value))
    throw ArgumentError("--" + flag + ": values above 1 are step counts and must be whole numbers, got " +
                        python_float_repr(value));
}

// Which arguments matter when a run is resumed with other values than it was saved with.
void mark_resume_effect(std::vector<ArgumentSpec>& specs) {
  static const char* const kChangesTraining[] = {
      "num_train_epochs",       "max_steps",         "learning_rate",       "optim",        "optim_args",
      "weight_decay",           "adam_beta1",        "adam_beta2",          "adam_epsilon", "max_grad_norm",
      "label_smoothing_factor", "lr_scheduler_type", "lr_scheduler_kwargs", "warmup_steps", "bf16",
      "logging_nan_inf_filter", "flush_denormal"};
  static const char* const kChangesBatches[] = {"per_device_train_batch_size",
                                                "gradient_accumulation_steps",
                                                "dataloader_drop_last",
                                                "train_sampling_strategy",
                                                "seed",
                                                "data_seed"};
  for (auto& spec : specs) {
    for (const char* n : kChangesTraining)
      if (spec.name == n) spec.resume_effect = ResumeEffect::changes_training;
    for (const char* n : kChangesBatches)
      if (spec.name == n) spec.resume_effect = ResumeEffect::changes_batches;
  }
}

// --include_num_input_tokens_seen: a choice, or a bool as the original also takes (true: all, false: no).
ArgumentSpec tokens_seen_argument(TrainingArguments& a) {
  ArgumentSpec spec = bind_argument("include_num_input_tokens_seen", &a.include_num_input_tokens_seen,
                                    "Count the input values trained on (state.num_input_tokens_seen, and in every "
                                    "log): all, non_padding (all here: the data has no padding), or no.");
  spec.set = [choose = spec.set](const std::vector<std::string>& values) {
    if (values.size() == 1 && choice_from_string<InputTokensSeen>(values[0]) == std::nullopt) {
      const std::string& v = values[0];
      if (v == "true" || v == "True") return choose({"all"});
      if (v == "false" || v == "False") return choose({"no"});
    }
    choose(values);
  };
  return spec;
}

}  // namespace

std::vector<ArgumentSpec> training_argument_specs(TrainingArguments& a) {
  std::vector<ArgumentSpec> s;
  s.push_back(bind_argument("output_dir", &a.output_dir,
                            "Where checkpoints, the saved arguments and the run's files are written."));
  s.push_back(bind_argument("run_name", &a.run_name, "A name for the run, used by the trackers."));
  s.push_back(
      bind_argument("project", &a.project, "The project trackio logs the run into (one database per project)."));
  s.push_back(bind_argument("logging_dir", &a.logging_dir,
                            "Directory for tracker files (TensorBoard); TENSORBOARD_LOGGING_DIR overrides."));
  s.push_back(
      bind_argument("per_device_train_batch_size", &a.per_device_train_batch_size, "Training batch size per device."));
  s.push_back(
      bind_argument("per_device_eval_batch_size", &a.per_device_eval_batch_size, "Evaluation batch size per device."));
  s.push_back(bind_argument("num_train_epochs", &a.num_train_epochs,
                            "Epochs to train; a fraction truncates the last epoch. Ignored when --max_steps > 0."));
  s.push_back(bind_argument("max_steps", &a.max_steps, "Total optimizer steps; > 0 overrides --num_train_epochs."));
  s.push_back(bind_argument("gradient_accumulation_steps", &a.gradient_accumulation_steps,
                            "Micro-batches accumulated per optimizer step."));
  s.push_back(bind_argument("learning_rate", &a.learning_rate, "Initial learning rate."));
  s.push_back(bind_argument(
      "optim", &a.optim,
      "Optimizer: the fused ones update each parameter in one pass; adamw_torch is LibTorch's own AdamW."));
  s.push_back(
      bind_argument("optim_args", &a.optim_args,
                    "Extra optimizer options as k=v,k=v (sgd: momentum, dampening, nesterov; adam*: amsgrad)."));
  s.push_back(bind_argument("weight_decay", &a.weight_decay,
                            "Weight decay, applied to every parameter except biases and normalisation weights."));
  s.push_back(bind_argument("adam_beta1", &a.adam_beta1, "Adam beta1."));
  s.push_back(bind_argument("adam_beta2", &a.adam_beta2, "Adam beta2."));
  s.push_back(bind_argument("adam_epsilon", &a.adam_epsilon, "Adam epsilon."));
  s.push_back(bind_argument("max_grad_norm", &a.max_grad_norm,
                            "Clip gradients to this global norm; 0 disables clipping and the grad_norm log key."));
  s.push_back(bind_argument("label_smoothing_factor", &a.label_smoothing_factor,
                            "Label smoothing for the cross-entropy loss, in [0, 1)."));
  s.push_back(bind_argument("lr_scheduler_type", &a.lr_scheduler_type, "Learning-rate schedule."));
  s.push_back(bind_json_object_argument("lr_scheduler_kwargs", &a.lr_scheduler_kwargs,
                                        "Extra scheduler options as a JSON object, e.g. '{\"num_cycles\": 2}'."));
  s.push_back(
      bind_argument("warmup_steps", &a.warmup_steps, "Linear warmup: steps if >= 1, else a ratio of the total steps."));
  s.push_back(bind_argument("warmup_ratio", &a.warmup_ratio,
                            "Deprecated: ratio of total steps for warmup; use --warmup_steps 0.1."));
  s.push_back(bind_argument(
      "bf16", &a.bf16,
      "bfloat16 autocast for the forward pass (CPU and CUDA); weights, optimizer and loss stay float32."));
  s.push_back(bind_argument("fp16", &a.fp16,
                            "float16 mixed precision: not supported yet (needs a gradient scaler); use --bf16."));
  s.push_back(bind_argument("use_cpu", &a.use_cpu, "Train on the CPU even when CUDA is available."));
  s.push_back(
      bind_argument("flush_denormal", &a.flush_denormal,
                    "Flush subnormal floats (below 1.2e-38) to zero in CPU math while training: measured 1.9x faster "
                    "over a whole run on an Intel CPU once the optimizer state decays into subnormals, no difference "
                    "on an AMD one (docs/performance.md). false: PyTorch's exact default numerics."));
  s.push_back(bind_argument("logging_strategy", &a.logging_strategy, "When to log training loss."));
  s.push_back(bind_argument("logging_steps", &a.logging_steps,
                            "Log every N steps (or a ratio of total steps) with --logging_strategy steps."));
  s.push_back(bind_argument("logging_first_step", &a.logging_first_step, "Also log after the first optimizer step."));
  s.push_back(tokens_seen_argument(a));
  s.push_back(bind_argument("logging_nan_inf_filter", &a.logging_nan_inf_filter,
                            "Leave NaN/Inf micro-batch losses out of the logged loss."));
  s.push_back(bind_argument("log_level", &a.log_level, "Library log level.",
                            {"passive", "debug", "info", "warning", "error", "critical"}));
  s.push_back(bind_argument("log_level_replica", &a.log_level_replica,
                            "Log level of every process but world rank 0 in data-parallel runs.",
                            {"passive", "debug", "info", "warning", "error", "critical"}));
  s.push_back(bind_argument("ddp_backend", &a.ddp_backend,
                            "Data-parallel backend (with WORLD_SIZE > 1): gloo, or nccl when LibTorch has CUDA; "
                            "default nccl on CUDA, else gloo."));
  s.push_back(bind_argument("ddp_timeout", &a.ddp_timeout,
                            "Seconds the rendezvous and each collective wait for a peer before the run stops, naming "
                            "the rank that was lost."));
  s.push_back(bind_argument("ddp_bucket_cap_mb", &a.ddp_bucket_cap_mb,
                            "Gradient all-reduce bucket size in MiB (default 25; the first bucket 1 MiB, as DDP)."));
  s.push_back(bind_argument("ddp_broadcast_buffers", &a.ddp_broadcast_buffers,
                            "Broadcast the model's buffers from rank 0 before every step (default true)."));
  s.push_back(
      bind_argument("ddp_find_unused_parameters", &a.ddp_find_unused_parameters,
                    "Agree after each backward pass on the parameters no rank used, which then keep no gradient as in "
                    "one process (default true, as the original; false saves one small all-reduce per step)."));
  s.push_back(bind_argument("disable_tqdm", &a.disable_tqdm, "Print plain log lines instead of a progress bar."));
  s.push_back(
      bind_argument("report_to", &a.report_to, "Trackers to report to: none, all, or a list of integration names."));
  s.push_back(bind_argument("flyte_checkpoint_path", &a.flyte_checkpoint_path,
                            "Flyte: where each checkpoint is synced (--report_to flyte), a path or s3://bucket/prefix; "
                            "pass {{.checkpointOutputPrefix}}."));
  s.push_back(bind_argument(
      "flyte_prev_checkpoint", &a.flyte_prev_checkpoint,
      "Flyte: the previous attempt's checkpoints, downloaded and resumed from; pass {{.prevCheckpointPrefix}}."));
  s.push_back(bind_argument("flyte_output_prefix", &a.flyte_output_prefix,
                            "Flyte: where the Log History deck (deck.html) is written as well as output_dir; pass "
                            "{{.outputPrefix}} or the task's output folder."));
  s.push_back(bind_argument("tracker_flush_timeout", &a.tracker_flush_timeout,
                            "Seconds that remote trackers (mlflow, ...) may go on sending when training ends; what is "
                            "left stays in output_dir/tracking/ and `trainer sync OUTPUT_DIR` sends it."));
  s.push_back(bind_argument("eval_strategy", &a.eval_strategy, "When to evaluate."));
  s.push_back(
      bind_argument("eval_steps", &a.eval_steps, "Evaluate every N steps (or a ratio); defaults to --logging_steps."));
  s.push_back(bind_argument("eval_delay", &a.eval_delay,
                            "Steps or epochs (by --eval_strategy) to wait before the first evaluation."));
  s.push_back(bind_argument("eval_on_start", &a.eval_on_start, "Evaluate once before training starts."));
  s.push_back(bind_argument("prediction_loss_only", &a.prediction_loss_only,
                            "Evaluation computes the loss only, no predictions or metrics."));
  s.push_back(bind_argument("save_strategy", &a.save_strategy, "When to save checkpoints."));
  s.push_back(
      bind_argument("save_steps", &a.save_steps, "Save every N steps (or a ratio) with --save_strategy steps."));
  s.push_back(bind_argument("save_total_limit", &a.save_total_limit,
                            "Keep at most this many checkpoints (the best one is never deleted)."));
  s.push_back(
      bind_argument("save_only_model", &a.save_only_model, "Checkpoints hold the weights only (not resumable)."));
  s.push_back(bind_argument(
      "save_async", &a.save_async,
      "Write checkpoints on a background thread: the loop only copies the state to memory (one save in flight)."));
  s.push_back(bind_argument("load_best_model_at_end", &a.load_best_model_at_end,
                            "Reload the best checkpoint's weights when training ends."));
  s.push_back(bind_argument("metric_for_best_model", &a.metric_for_best_model,
                            "Metric that defines the best model, e.g. loss or accuracy (eval_ prefix optional)."));
  s.push_back(bind_argument("greater_is_better", &a.greater_is_better,
                            "Whether a larger metric is better; derived from the metric's name when unset."));
  s.push_back(
      bind_argument("ignore_data_skip", &a.ignore_data_skip, "On resume, do not skip the batches already seen."));
  s.push_back(bind_argument("restore_callback_states_from_checkpoint", &a.restore_callback_states_from_checkpoint,
                            "On resume, restore stateful callbacks (early-stopping patience, ...) from the checkpoint. "
                            "Default true (the original: false)."));
  s.push_back(
      bind_argument("resume_from_checkpoint", &a.resume_from_checkpoint,
                    "Checkpoint directory to resume from, or last for the newest complete one in --output_dir."));
  s.push_back(bind_argument("force_resume", &a.force_resume,
                            "Resume even when the checkpoint's batch size, accumulation, data order or training set "
                            "differ (the data position is then approximate)."));
  s.push_back(bind_argument("seed", &a.seed, "Random seed for weights and everything random in training."));
  s.push_back(bind_argument("data_seed", &a.data_seed, "Seed for the data order; defaults to --seed."));
  s.push_back(
      bind_argument("dataloader_drop_last", &a.dataloader_drop_last, "Drop the last incomplete training batch."));
  s.push_back(bind_argument("dataloader_num_workers", &a.dataloader_num_workers,
                            "Background threads that prepare batches (0: in the loop)."));
  s.push_back(bind_argument("dataloader_prefetch_factor", &a.dataloader_prefetch_factor,
                            "Batches prepared ahead per worker; needs --dataloader_num_workers > 0."));
  s.push_back(bind_argument("dataloader_pin_memory", &a.dataloader_pin_memory,
                            "Pin host batches for faster copies to the GPU."));
  s.push_back(bind_argument("train_sampling_strategy", &a.train_sampling_strategy, "Training order.",
                            {"random", "sequential"}));
  mark_resume_effect(s);
  return s;
}

namespace {

// "--name: <current> <here>, <other> <there>" for each argument that `keep` accepts and that differs.
template <typename Keep>
void differing_arguments(const Json& other, const TrainingArguments& current, const std::string& here,
                         const std::string& there, Keep&& keep) {
  if (!other.is_object()) return;
  TrainingArguments copy = current;
  for (const auto& spec : training_argument_specs(copy)) {
    if (spec.secret || !other.contains(spec.name)) continue;
    const Json now = spec.get(), then = other[spec.name];
    if (now == then) continue;
    keep(spec,
         "--" + spec.name + ": " + dump_json(now, {-1}) + " " + here + ", " + dump_json(then, {-1}) + " " + there);
  }
}

// Ranks that disagree on these would call different collectives and hang until --ddp_timeout.
bool shapes_collectives(const std::string& name) {
  return name == "ddp_backend" || name == "ddp_bucket_cap_mb" || name == "ddp_broadcast_buffers" ||
         name == "ddp_find_unused_parameters";
}

}  // namespace

ResumeDifferences compare_resume_arguments(const Json& saved, const TrainingArguments& current) {
  ResumeDifferences out;
  differing_arguments(saved, current, "now", "in the checkpoint", [&](const ArgumentSpec& spec, std::string line) {
    if (spec.resume_effect == ResumeEffect::changes_batches)
      out.changes_batches.push_back(std::move(line));
    else if (spec.resume_effect == ResumeEffect::changes_training)
      out.changes_training.push_back(std::move(line));
  });
  return out;
}

std::vector<std::string> compare_rank_arguments(const Json& rank_zero, const TrainingArguments& current, int64_t rank) {
  std::vector<std::string> out;
  differing_arguments(rank_zero, current, "on rank " + std::to_string(rank), "on rank 0",
                      [&](const ArgumentSpec& spec, std::string line) {
                        if (spec.resume_effect != ResumeEffect::none || shapes_collectives(spec.name))
                          out.push_back(std::move(line));
                      });
  return out;
}

int64_t num_warmup_steps(const TrainingArguments& args, int64_t max_steps) {
  if (args.warmup_steps >= 1) return static_cast<int64_t>(args.warmup_steps);
  return static_cast<int64_t>(std::ceil(static_cast<double>(max_steps) * args.warmup_steps));
}

namespace {

void check_numbers_and_choices(TrainingArguments& a) {
  // Values set in code bypass the parser: check choices, and that every number is finite (no
  // argument has a use for NaN or infinity), here for both.
  for (const auto& spec : training_argument_specs(a)) {
    const Json value = spec.get();
    if (value.is_number_float() && !std::isfinite(value.get<double>()))
      throw ArgumentError("--" + spec.name + ": must be a finite number, got " +
                          (std::isnan(value.get<double>()) ? "nan"
                           : value.get<double>() > 0       ? "inf"
                                                           : "-inf"));
    if (!spec.choices.empty() && value.is_string()) spec.set({value.get<std::string>()});
  }
}

// The output folder, data-parallel limits, batches, run length, optimizer and precision.
void check_sizes_and_optimizer(TrainingArguments& a) {
  if (a.output_dir.empty()) throw ArgumentError("--output_dir: must not be empty");
  if (a.ddp_timeout < 1) throw ArgumentError("--ddp_timeout: must be >= 1 (seconds)");
  if (a.ddp_bucket_cap_mb && *a.ddp_bucket_cap_mb < 1) throw ArgumentError("--ddp_bucket_cap_mb: must be >= 1 (MiB)");
  a.output_dir = expand_user(a.output_dir);
  if (a.per_device_train_batch_size < 1) throw ArgumentError("--per_device_train_batch_size: must be >= 1");
  if (a.per_device_eval_batch_size < 1) throw ArgumentError("--per_device_eval_batch_size: must be >= 1");
  if (a.gradient_accumulation_steps < 1) throw ArgumentError("--gradient_accumulation_steps: must be >= 1");
  if (a.max_steps == 0) throw ArgumentError("--max_steps: must be > 0, or -1 to train for --num_train_epochs");
  if (a.max_steps < 0 && !(a.num_train_epochs > 0))
    throw ArgumentError("--num_train_epochs: must be > 0 (or set --max_steps)");
  if (a.learning_rate < 0) throw ArgumentError("--learning_rate: must be >= 0");
  if (a.weight_decay < 0) throw ArgumentError("--weight_decay: must be >= 0");
  if (a.max_grad_norm < 0) throw ArgumentError("--max_grad_norm: must be >= 0 (0 disables clipping)");
  if (a.adam_beta1 < 0 || a.adam_beta1 >= 1) throw ArgumentError("--adam_beta1: must be in [0, 1)");
  if (a.adam_beta2 < 0 || a.adam_beta2 >= 1) throw ArgumentError("--adam_beta2: must be in [0, 1)");
  if (a.adam_epsilon < 0)
    throw ArgumentError("--adam_epsilon: must be >= 0 (e.g. 1e-8), got " + python_float_repr(a.adam_epsilon));
  if (a.label_smoothing_factor < 0 || a.label_smoothing_factor >= 1)
    throw ArgumentError("--label_smoothing_factor: must be in [0, 1)");
  if (a.bf16 && a.fp16) throw ArgumentError("--bf16 and --fp16 cannot both be set; choose one");
}

// --warmup_steps (steps, or a ratio below 1) and the deprecated --warmup_ratio folded into it.
void resolve_warmup(TrainingArguments& a) {
  if (a.warmup_steps < 0) throw ArgumentError("--warmup_steps: must be >= 0 (steps, or a ratio in [0, 1))");
  if (a.warmup_steps > 1 && !is_integral(a.warmup_steps))
    throw ArgumentError("--warmup_steps: values above 1 are step counts and must be whole numbers");
  if (a.warmup_ratio) {
    if (*a.warmup_ratio < 0 || *a.warmup_ratio >= 1) throw ArgumentError("--warmup_ratio: must be in [0, 1)");
    log_warning("--warmup_ratio is deprecated; use --warmup_steps " + python_float_repr(*a.warmup_ratio) +
                " (a value below 1 is a ratio)");
    if (a.warmup_steps == 0) a.warmup_steps = *a.warmup_ratio;
    a.warmup_ratio.reset();
  }
}

// Logging, evaluation and save intervals; --eval_steps defaults to --logging_steps.
void resolve_intervals(TrainingArguments& a) {
  check_interval("logging_steps", a.logging_steps);
  check_interval("save_steps", a.save_steps);
  if (a.logging_strategy == IntervalStrategy::steps && a.logging_steps == 0)
    throw ArgumentError("--logging_steps: must be > 0 with --logging_strategy steps (or use --logging_strategy no)");
  if (a.eval_strategy == IntervalStrategy::steps && !a.eval_steps) {
    if (a.logging_steps <= 0)
      throw ArgumentError(
          "--eval_steps: not set and --logging_steps is 0; set --eval_steps with --eval_strategy steps");
    a.eval_steps = a.logging_steps;
  }
  if (a.eval_steps) {
    check_interval("eval_steps", *a.eval_steps);
    if (a.eval_strategy == IntervalStrategy::steps && *a.eval_steps == 0)
      throw ArgumentError("--eval_steps: must be > 0 with --eval_strategy steps");
  }
  if (a.save_strategy == SaveStrategy::steps && a.save_steps == 0)
    throw ArgumentError("--save_steps: must be > 0 with --save_strategy steps (or use --save_strategy no)");
  if (a.eval_delay < 0) throw ArgumentError("--eval_delay: must be >= 0");
  if (a.save_total_limit && *a.save_total_limit <= 0) a.save_total_limit.reset();
}

// --metric_for_best_model ("loss" when the best model or the plateau scheduler needs one) and
// --greater_is_better (false for a *loss metric) as the original resolves them.
void resolve_best_metric(TrainingArguments& a) {
  if (a.metric_for_best_model && a.metric_for_best_model->empty()) a.metric_for_best_model.reset();
  if ((a.load_best_model_at_end || a.lr_scheduler_type == SchedulerType::reduce_lr_on_plateau) &&
      !a.metric_for_best_model)
    a.metric_for_best_model = "loss";
  if (a.metric_for_best_model && !a.greater_is_better) {
    const auto& m = *a.metric_for_best_model;
    a.greater_is_better = !(m.size() >= 4 && m.compare(m.size() - 4, 4, "loss") == 0);
  }
  if (a.save_strategy == SaveStrategy::best && !a.metric_for_best_model)
    throw ArgumentError("--save_strategy best: needs --metric_for_best_model (e.g. loss or accuracy)");
  if (a.save_strategy == SaveStrategy::best && a.eval_strategy == IntervalStrategy::no)
    throw ArgumentError("--save_strategy best: needs evaluations; set --eval_strategy steps or epoch");
}

// --load_best_model_at_end needs a checkpoint at every evaluation; the plateau scheduler needs evaluations.
void check_best_model_and_scheduler(const TrainingArguments& a) {
  if (a.load_best_model_at_end && a.save_strategy != SaveStrategy::best) {
    if (to_string(a.eval_strategy) != to_string(a.save_strategy))
      throw ArgumentError("--load_best_model_at_end: needs --save_strategy equal to --eval_strategy (got save '" +
                          to_string(a.save_strategy) + "', eval '" + to_string(a.eval_strategy) +
                          "'), so the best evaluation has a checkpoint");
    if (a.eval_strategy == IntervalStrategy::steps) {
      const double ev = *a.eval_steps;
      const bool ev_ratio = ev < 1, sv_ratio = a.save_steps < 1;
      if (ev_ratio != sv_ratio)
        throw ArgumentError(
            "--load_best_model_at_end: --save_steps and --eval_steps must both be step counts or both ratios");
      // Ratios are compared as scaled integers, as the original does.
      const double scale = ev_ratio ? 1e6 : 1.0;
      const auto s = static_cast<int64_t>(std::llround(a.save_steps * scale));
      const auto e = static_cast<int64_t>(std::llround(ev * scale));
      if (e == 0 || s % e != 0)
        throw ArgumentError("--load_best_model_at_end: --save_steps (" + python_float_repr(a.save_steps) +
                            ") must be a multiple of --eval_steps (" + python_float_repr(ev) + ")");
    }
  }
  if (a.lr_scheduler_type == SchedulerType::reduce_lr_on_plateau && a.eval_strategy == IntervalStrategy::no)
    throw ArgumentError(
        "--lr_scheduler_type reduce_lr_on_plateau: needs evaluations; set --eval_strategy steps or epoch");
  if (!a.lr_scheduler_kwargs.is_object()) throw ArgumentError("--lr_scheduler_kwargs: must be a JSON object");
}

// Data loading, trackers and the progress bar.
void resolve_loading_and_reporting(TrainingArguments& a) {
  if (a.dataloader_num_workers < 0) throw ArgumentError("--dataloader_num_workers: must be >= 0");
  if (a.dataloader_num_workers > kMaxDataloaderWorkers)
    throw ArgumentError("--dataloader_num_workers: at most " + std::to_string(kMaxDataloaderWorkers) + ", got " +
                        std::to_string(a.dataloader_num_workers) +
                        " (each worker is a thread holding prepared batches in memory; more threads than cores only "
                        "compete with the training step: 1 or 2 suits most CPUs)");
  if (a.dataloader_prefetch_factor && a.dataloader_num_workers == 0)
    throw ArgumentError("--dataloader_prefetch_factor: needs --dataloader_num_workers > 0");
  if (a.dataloader_prefetch_factor && *a.dataloader_prefetch_factor < 1)
    throw ArgumentError("--dataloader_prefetch_factor: must be >= 1");
  if (a.report_to.empty()) a.report_to = {"none"};
  if (!(a.tracker_flush_timeout >= 0))
    throw ArgumentError("--tracker_flush_timeout: must be a number of seconds >= 0, got " +
                        python_float_repr(a.tracker_flush_timeout));

  if (!a.disable_tqdm) {
    const bool quiet = a.log_level == "error" || a.log_level == "critical";
    a.disable_tqdm = quiet;
  }
}

}  // namespace

void TrainingArguments::finalize() {
  check_numbers_and_choices(*this);
  check_sizes_and_optimizer(*this);
  resolve_warmup(*this);
  resolve_intervals(*this);
  resolve_best_metric(*this);
  check_best_model_and_scheduler(*this);
  resolve_loading_and_reporting(*this);
}

std::string TrainingArguments::best_metric_key() const {
  const std::string key = metric_for_best_model.value_or("loss");
  return key.rfind("eval_", 0) == 0 ? key : "eval_" + key;
}

Json TrainingArguments::to_json() const {
  TrainingArguments copy = *this;
  Json out = Json::object();
  for (const auto& spec : training_argument_specs(copy))
    if (!spec.secret) out[spec.name] = spec.get();
  return out;
}

TrainingArguments TrainingArguments::from_json(const Json& json) {
  TrainingArguments args;
  auto specs = training_argument_specs(args);
  for (auto it = json.begin(); it != json.end(); ++it) {
    for (const auto& spec : specs) {
      if (spec.name != it.key()) continue;
      const Json& v = it.value();
      if (v.is_array()) {
        std::vector<std::string> values;
        for (const auto& item : v) values.push_back(item.is_string() ? item.get<std::string>() : dump_json(item, {-1}));
        spec.set(values);
      } else if (v.is_string()) {
        spec.set({v.get<std::string>()});
      } else if (v.is_null()) {
        spec.set({"none"});
      } else {
        spec.set({dump_json(v, {-1})});
      }
    }
  }
  return args;
}

}  // namespace trainer

namespace trainer {

const std::vector<std::pair<std::string, std::string>>& original_arguments_not_supported() {
  static const std::string hub =
      "pushing to the Hugging Face Hub is not supported by this library (copy the output folder instead)";
  static const std::string python_backends =
      "DeepSpeed, FSDP and accelerate are Python's; data-parallel training here is c10d DDP (docs/distributed.md)";
  static const std::string python_data = "an option of Python's DataLoader or datasets; the data here are tensors";
  static const std::string python_models = "an option of transformers' models; the models here are LibTorch modules";
  static const std::string evaluation =
      "not supported: evaluation here gathers every batch's logits on the host and computes the metrics once";
  static const std::vector<std::pair<std::string, std::string>> refused = {
      {"optim_target_modules", "optimizers that target modules (GaLore, APOLLO) are not supported"},
      {"average_tokens_across_devices", "not supported: the loss is the mean over each micro-batch's examples"},
      {"bf16_full_eval", "not supported: evaluation runs in the training precision (--bf16 covers it)"},
      {"fp16_full_eval", "not supported: there is no float16 evaluation (--fp16 is not supported yet)"},
      {"tf32", "not supported: TensorFloat-32 follows LibTorch's default"},
      {"activation_checkpointing", python_models},
      {"activation_checkpointing_kwargs", python_models},
      {"gradient_checkpointing", python_models},
      {"gradient_checkpointing_kwargs", python_models},
      {"torch_compile", "torch.compile is Python's; LibTorch runs the modules as they are"},
      {"torch_compile_backend", "torch.compile is Python's; LibTorch runs the modules as they are"},
      {"torch_compile_mode", "torch.compile is Python's; LibTorch runs the modules as they are"},
      {"use_liger_kernel", "Liger kernels are Python's (Triton)"},
      {"liger_kernel_config", "Liger kernels are Python's (Triton)"},
      {"use_cache", python_models},
      {"neftune_noise_alpha", "NEFTune adds noise to transformers' embedding layers; not supported"},
      {"torch_empty_cache_steps", "not supported: LibTorch's caching allocator keeps its memory"},
      {"auto_find_batch_size", "not supported: choose --per_device_train_batch_size"},
      {"log_on_each_node", "not supported: rank 0 of the job logs (--log_level_replica for the others)"},
      {"trackio_space_id", "the Trackio tracker here writes locally; Hugging Face Spaces are not supported"},
      {"trackio_bucket_id", "the Trackio tracker here writes locally; Hugging Face Spaces are not supported"},
      {"trackio_static_space_id", "the Trackio tracker here writes locally; Hugging Face Spaces are not supported"},
      {"eval_do_concat_batches", evaluation},
      {"eval_use_gather_object", evaluation},
      {"eval_accumulation_steps", evaluation},
      {"include_for_metrics", evaluation},
      {"batch_eval_metrics", evaluation},
      {"save_on_each_node", "not supported: world rank 0 writes every checkpoint"},
      {"enable_jit_checkpoint",
       "not supported as a flag: the `trainer` program always saves a checkpoint at the next step on SIGTERM or "
       "SIGINT (exit status 4)"},
      {"push_to_hub", hub},
      {"hub_token", hub},
      {"hub_private_repo", hub},
      {"hub_model_id", hub},
      {"hub_strategy", hub},
      {"hub_always_push", hub},
      {"hub_revision", hub},
      {"full_determinism", "not supported: runs on the CPU are deterministic already (tests/torch/resume_test.cpp)"},
      {"accelerator_config", python_backends},
      {"parallelism_config", python_backends},
      {"fsdp", python_backends},
      {"fsdp_config", python_backends},
      {"deepspeed", python_backends},
      {"ddp_static_graph", "not supported: the gradient reducer here has no static-graph mode"},
      {"dataloader_persistent_workers", python_data},
      {"dataloader_multiprocessing_context", python_data},
      {"dataloader_in_order", python_data},
      {"remove_unused_columns", python_data},
      {"label_names", python_data + " (--label_column names the CSV column)"},
      {"length_column_name", python_data},
      {"debug", "the original's underflow/overflow debugging is Python's; not supported"},
      {"skip_memory_metrics", "not supported: memory metrics are not reported yet"},
      {"do_train", "a flag for the original's example scripts, which its Trainer never reads; `trainer train` trains"},
      {"do_eval", "a flag for the original's example scripts, which its Trainer never reads; see --eval_strategy"},
      {"do_predict", "a flag for the original's example scripts, which its Trainer never reads"},
      {"local_rank", "set by the launcher: torchrun's LOCAL_RANK environment variable (docs/distributed.md)"},
  };
  return refused;
}

}  // namespace trainer
