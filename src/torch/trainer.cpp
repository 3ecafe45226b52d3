#include "trainer/torch/trainer.h"

#include <cmath>
#include <cstdlib>
#include <mutex>
#include <sstream>

#include <torch/torch.h>

#include "trainer/callbacks/default_flow_callback.h"
#include "trainer/callbacks/printer_callback.h"
#include "trainer/callbacks/progress_callback.h"
#include "trainer/core/argument_spec.h"
#include "trainer/core/logging.h"
#include "trainer/core/report_to.h"
#include "trainer/core/speed_metrics.h"
#include "trainer/torch/device.h"
#include "trainer/torch/distributed/data_parallel.h"
#include "trainer/torch/distributed/process_group.h"
#include "trainer/torch/fused_optimizers.h"
#include "trainer/torch/optimizers.h"
#include "trainer/torch/runtime_environment.h"

// The training loop: construction, the phases of train() and one optimizer step. Checkpoints and
// resuming are the CheckpointManager's (checkpoint_manager.cpp), the evaluation loop is
// EvaluationLoop's (evaluation_loop.cpp); trainer_evaluation.cpp holds evaluate() and predict().

namespace trainer {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

std::string shape_text(c10::IntArrayRef sizes) {
  std::ostringstream out;
  out << sizes;
  return out.str();
}

LogLevel parse_log_level(const std::string& level) {
  if (level == "debug") return LogLevel::debug;
  if (level == "info") return LogLevel::info;
  if (level == "error") return LogLevel::error;
  if (level == "critical") return LogLevel::critical;
  return LogLevel::warning;
}

TrainingArguments finalized(TrainingArguments args) {
  args.finalize();
  return args;
}

}  // namespace

Trainer::Trainer(std::shared_ptr<Model> model, TrainingArguments args,
                 std::shared_ptr<const TensorDataset> train_dataset, std::shared_ptr<const TensorDataset> eval_dataset,
                 std::vector<std::shared_ptr<TrainerCallback>> callbacks, ComputeMetrics compute_metrics)
    : model_(std::move(model)),
      args_(finalized(std::move(args))),
      train_dataset_(std::move(train_dataset)),
      eval_dataset_(std::move(eval_dataset)),
      compute_metrics_(std::move(compute_metrics)),
      device_(torch::kCPU),
      checkpoints_(args_, process_) {
  if (!model_) throw std::invalid_argument("Trainer: no model");
  process_ = ProcessInfo::from_environment();
  // The original's log_level_replica: ranks other than 0 say only what matters (warnings).
  const std::string& level = process_.is_world_process_zero() ? args_.log_level : args_.log_level_replica;
  if (level != "passive") set_log_level(parse_log_level(level));
  if (args_.fp16)
    throw ArgumentError(
        "--fp16: float16 training needs a gradient scaler, which this library does not have yet; "
        "use --bf16 (bfloat16 autocast, on CPU and CUDA) instead");
  if (args_.do_eval() && !eval_dataset_)
    throw ArgumentError("--eval_strategy " + to_string(args_.eval_strategy) +
                        ": needs an evaluation dataset (--eval_file, or pass eval_dataset)");
  device_ = resolve_device(args_, process_.local_rank);
  set_seed(args_.seed);
  const auto placing = Clock::now();
  model_->to(device_);
  model_placement_seconds_ =
      std::round(std::chrono::duration<double>(Clock::now() - placing).count() * 10000.0) / 10000.0;
  parallel_ = DataParallelStrategy::create(process_, args_, *model_, device_);

  state_.is_world_process_zero = process_.is_world_process_zero();
  state_.is_local_process_zero = process_.is_local_process_zero();

  // Order: flow control first, then the trackers, the user's callbacks, the display last.
  handler_.add_callback(std::make_shared<DefaultFlowCallback>());
  for (auto& cb : report_to_callbacks(args_.report_to)) handler_.add_callback(std::move(cb));
  for (auto& cb : callbacks) handler_.add_callback(std::move(cb));
  if (args_.disable_tqdm_resolved())
    handler_.add_callback(std::make_shared<PrinterCallback>());
  else
    handler_.add_callback(std::make_shared<ProgressCallback>());
  handler_.context().model = model_.get();
  handler_.context().model_description = dump_json(model_->config(), {2, false, true});
  handler_.context().save_model = [this](const std::string& dir) { save_model(dir); };
  // As the original's state from the start: the stateful callbacks' states (and TrainerControl's).
  state_.stateful_callbacks = stateful_callback_states(handler_, control_);
  handler_.on_init_end(args_, state_, control_);
}

ProcessGroup* Trainer::process_group() { return parallel_->process_group(); }

Trainer::~Trainer() = default;

double Trainer::read_scalar(const torch::Tensor& t) {
  ++host_reads_;
  return t.item<double>();
}

std::unique_ptr<TensorDataLoader> Trainer::get_train_dataloader() {
  TensorDataLoader::Options o;
  o.batch_size = args_.train_batch_size();
  o.shuffle = args_.train_sampling_strategy == "random";
  o.drop_last = args_.dataloader_drop_last;
  o.seed = static_cast<uint64_t>(args_.effective_data_seed());
  o.device = device_;
  o.pin_memory = args_.dataloader_pin_memory;
  o.num_replicas = process_.world_size;
  o.rank = process_.rank;
  o.pad_shards = true;
  return std::make_unique<TensorDataLoader>(train_dataset_, o);
}

std::unique_ptr<TensorDataLoader> Trainer::get_eval_dataloader(std::shared_ptr<const TensorDataset> dataset) {
  TensorDataLoader::Options o;
  o.batch_size = args_.eval_batch_size();
  o.device = device_;
  o.pin_memory = args_.dataloader_pin_memory;
  o.num_replicas = process_.world_size;
  o.rank = process_.rank;
  o.pad_shards = false;  // every example once; the results are gathered in dataset order
  return std::make_unique<TensorDataLoader>(std::move(dataset), o);
}

void Trainer::create_optimizer() { optimizer_ = trainer::create_optimizer(args_, *model_); }

void Trainer::create_scheduler(int64_t num_training_steps) {
  std::vector<double> base;
  for (size_t g = 0; g < optimizer_->param_groups().size(); ++g) base.push_back(group_learning_rate(*optimizer_, g));
  auto* opt = optimizer_.get();
  try {
    lr_scheduler_ = get_scheduler(
        args_.lr_scheduler_type, base, [opt](size_t g, double lr) { set_group_learning_rate(*opt, g, lr); },
        num_warmup_steps(args_, num_training_steps), num_training_steps, args_.lr_scheduler_kwargs);
  } catch (const std::invalid_argument& e) {
    throw ArgumentError(e.what());
  }
}

torch::Tensor Trainer::compute_loss(Model& model, const Batch& batch, torch::Tensor* logits) {
  torch::Tensor out;
  {
    AutocastScope autocast(args_.bf16, device_);
    out = model.forward(batch.inputs);
  }
  if (out.scalar_type() != torch::kFloat && out.is_floating_point())
    out = out.to(torch::kFloat);  // the loss in float32
  if (logits) *logits = out;
  namespace F = torch::nn::functional;
  return F::cross_entropy(out, batch.labels,
                          F::CrossEntropyFuncOptions().label_smoothing(args_.label_smoothing_factor));
}

torch::Tensor Trainer::training_step(Model& model, const Batch& batch) {
  model.train();
  auto loss = compute_loss(model, batch);
  if (current_gradient_accumulation_steps_ > 1) loss = loss / static_cast<double>(current_gradient_accumulation_steps_);
  loss.backward();
  return loss.detach();
}

PredictionStepOutput Trainer::prediction_step(Model& model, const Batch& batch, bool prediction_loss_only) {
  PredictionStepOutput out;
  torch::Tensor logits;
  out.loss = compute_loss(model, batch, &logits).detach();
  if (!prediction_loss_only) out.logits = logits.detach();
  return out;
}

void Trainer::zero_grad() {
  // Setting gradients to none saves a memset per parameter per step.
  for (auto& p : parameters_) p.mutable_grad() = torch::Tensor();
}

torch::Tensor Trainer::clip_gradients(double max_norm) {
  grads_.clear();
  for (auto& p : parameters_)
    if (p.grad().defined()) grads_.push_back(p.grad());
  if (grads_.empty()) return torch::zeros({}, torch::TensorOptions().device(device_));
  return clip_grad_norm_fused(grads_, max_norm);
}

double Trainer::current_learning_rate() const {
  if (lr_scheduler_->is_metric_driven()) return group_learning_rate(*optimizer_, 0);
  return lr_scheduler_->get_last_lr().at(0);
}

void Trainer::log(Json& logs) {
  logs["epoch"] = state_.epoch;
  if (args_.include_num_input_tokens_seen != InputTokensSeen::no) {
    logs["num_input_tokens_seen"] = state_.num_input_tokens_seen;
    // The training-loss log also says how fast this call has read them, as the original's.
    if (logging_training_loss_)
      logs.update(token_speed_metrics("train", train_start_,
                                      static_cast<double>(state_.num_input_tokens_seen - initial_tokens_seen_)));
  }
  Json entry = logs;
  entry["step"] = state_.global_step;
  state_.log_history.push_back(std::move(entry));
  handler_.on_log(args_, state_, control_, logs);
}

void Trainer::validate_data_and_model() {
  const auto& train_in = train_dataset_->inputs;
  if (eval_dataset_) {
    const auto& eval_in = eval_dataset_->inputs;
    if (eval_in.sizes().slice(1) != train_in.sizes().slice(1)) {
      std::ostringstream msg;
      msg << "--eval_file: the evaluation examples have shape " << eval_in.sizes().slice(1)
          << ", the training examples " << train_in.sizes().slice(1)
          << "; evaluate on data with the training data's features";
      throw ArgumentError(msg.str());
    }
    if (!eval_dataset_->feature_names.empty() && !train_dataset_->feature_names.empty() &&
        eval_dataset_->feature_names != train_dataset_->feature_names)
      throw ArgumentError(
          "--eval_file: its feature columns are not the training data's (load it with the training data's "
          "feature_names as the column order)");
  }
  // One batch through the model, before the first step: a model whose outputs cannot be scored
  // against these labels fails here with a message, not inside the loss after set-up.
  int64_t largest = train_dataset_->labels.numel() ? train_dataset_->labels.max().item<int64_t>() : 0;
  if (eval_dataset_ && eval_dataset_->labels.numel())
    largest = std::max(largest, eval_dataset_->labels.max().item<int64_t>());
  const int64_t n = std::min<int64_t>(train_dataset_->size(), args_.train_batch_size());
  Batch sample{train_in.slice(0, 0, n).to(device_), train_dataset_->labels.slice(0, 0, n).to(device_)};
  torch::Tensor logits;
  {
    torch::NoGradGuard no_grad;
    model_->eval();  // no dropout draws, no running-statistics updates: the RNG and the weights stay as they are
    try {
      AutocastScope autocast(args_.bf16, device_);
      logits = model_->forward(sample.inputs);
    } catch (const c10::Error& e) {
      model_->train();
      throw ArgumentError("--model: the model cannot take the training examples (shape " +
                          shape_text(sample.inputs.sizes().slice(1)) + "): " + e.what_without_backtrace());
    }
    model_->train();
  }
  check_model_outputs(logits, sample, largest);
}

void Trainer::check_model_outputs(const torch::Tensor& logits, const Batch& sample, int64_t largest_label) {
  if (logits.dim() != 2 || logits.size(0) != sample.size() || !logits.is_floating_point())
    throw ArgumentError("--model: the model must return one row of logits per example, shape [" +
                        std::to_string(sample.size()) + ", classes]; it returned " + shape_text(logits.sizes()) +
                        " for a batch of " + std::to_string(sample.size()));
  if (logits.size(1) <= largest_label)
    throw ArgumentError("--model: the model outputs " + std::to_string(logits.size(1)) +
                        " logits per example, but the labels go up to " + std::to_string(largest_label) + " (" +
                        std::to_string(largest_label + 1) +
                        " classes); use a model with at least that many outputs, or labels 0.." +
                        std::to_string(logits.size(1) - 1));
}

// ---- train() and its phases ----------------------------------------------------------------------

TrainOutput Trainer::train(std::optional<std::string> resume_from_checkpoint) {
  const TrainingPlan plan = prepare_run();
  std::optional<ResumePoint> resume = checkpoints_.find_resume_point(resume_from_checkpoint, device_);
  if (resume && resume->state.global_step >= plan.max_steps) return nothing_to_do(*resume, plan);
  if (resume) checkpoints_.check_resume_compatible(*resume, train_dataset_->size());
  // The machine as the caller left it, detected once: hints (from one process per box), then this
  // call's CPU settings.
  const auto machine = RuntimeEnvironment::detect();
  if (process_.is_local_process_zero()) log_machine_hints_once(machine);
  std::optional<FlushDenormalScope> flush_to_zero;
  std::optional<CpuThreadsScope> cpu_threads;
  if (device_.is_cpu()) {
    flush_to_zero.emplace(args_.flush_denormal);
    std::vector<torch::Tensor> parameters;
    for (auto& [name, p] : model_->named_parameters()) parameters.push_back(p);
    cpu_threads.emplace(machine, cpu_workload_of(parameters), process_.local_world_size);
  }
  set_up_training(plan);
  LoopState loop = LoopState::start(device_, 0);
  ResumePosition from;
  if (resume) {
    checkpoints_.restore(*resume, checkpoint_subjects(), loop);
    ++weights_version_;
    from = resume_position(args_, plan, state_.global_step);
  }
  try {
    TrainOutput out = run_training(plan, from, loop);
    out.resumed_from = resume ? resume->dir.string() : std::string();
    out.max_steps = plan.max_steps;
    return out;
  } catch (...) {
    parallel_->report_failure(std::current_exception());
    handler_.on_exception(args_, state_, control_, std::current_exception());
    throw;
  }
}

TrainingPlan Trainer::prepare_run() {
  if (!train_dataset_) throw std::invalid_argument("Trainer::train: no training dataset was given");
  train_loader_ = get_train_dataloader();
  const TrainingPlan plan =
      plan_training(args_, train_dataset_->size(), train_loader_->num_batches(), process_.world_size);
  validate_data_and_model();
  return plan;
}

TrainOutput Trainer::nothing_to_do(const ResumePoint& resume, const TrainingPlan& plan) {
  // A finished run: nothing trains, nothing is written.
  log_info("Nothing to do: " + resume.dir.string() + " has already trained " +
           std::to_string(resume.state.global_step) + " of " + std::to_string(plan.max_steps) + " steps");
  TrainOutput out;
  out.global_step = resume.state.global_step;
  out.already_complete = true;
  out.resumed_from = resume.dir.string();
  out.max_steps = plan.max_steps;
  return out;
}

void Trainer::set_up_training(const TrainingPlan& plan) {
  // A new state for every train() call.
  state_ = TrainerState{};
  state_.is_world_process_zero = process_.is_world_process_zero();
  state_.is_local_process_zero = process_.is_local_process_zero();
  state_.train_batch_size = args_.train_batch_size();
  state_.compute_steps(args_, plan.max_steps);
  state_.max_steps = plan.max_steps;
  state_.num_train_epochs = plan.num_train_epochs;
  state_.stateful_callbacks = stateful_callback_states(handler_, control_);
  trained_ = true;

  // The parameter handles, once: the step must not rebuild name lists.
  parameters_.clear();
  parameter_names_.clear();
  for (auto& [name, p] : model_->named_parameters()) {
    parameters_.push_back(p);
    parameter_names_.push_back(name);
  }
  flos_per_example_ = 6.0 * static_cast<double>(model_->num_parameters());
  create_optimizer();
  create_scheduler(plan.max_steps);
  parallel_->prepare_training(parameters_, parameter_names_);
  checkpoints_.begin_run();
  save_stall_seconds_ = 0;
  subnormal_state_checked_ = false;
  auto& ctx = handler_.context();
  ctx.model = model_.get();
  ctx.optimizer = optimizer_.get();
  ctx.lr_scheduler = lr_scheduler_.get();
  ctx.train_dataloader = train_loader_.get();
  zero_grad();
  train_start_ = Clock::now();
}

TrainOutput Trainer::run_training(const TrainingPlan& plan, const ResumePosition& from, LoopState& loop) {
  const int64_t first_step = state_.global_step;
  initial_tokens_seen_ = state_.num_input_tokens_seen;
  if (args_.include_num_input_tokens_seen == InputTokensSeen::non_padding)
    log_warning(
        "--include_num_input_tokens_seen non_padding: the data has no attention mask or pad token; "
        "counting every input value, as the original does then");
  handler_.on_train_begin(args_, state_, control_);
  if (args_.eval_on_start) evaluate();
  for (int64_t epoch = from.epoch; epoch < plan.num_train_epochs; ++epoch) {
    run_epoch(plan, epoch, epoch == from.epoch ? from.micro_batches_to_skip : 0, loop);
    if (control_.should_training_stop) break;
  }
  return finish_training(loop, first_step);
}

void Trainer::run_epoch(const TrainingPlan& plan, int64_t epoch, int64_t first_micro_batch, LoopState& loop) {
  // Batches already seen are skipped without being read: the order of an epoch depends only on
  // (seed, epoch), so the micro-batch counter continues where a checkpoint left it.
  const int64_t batches = plan.batches_per_epoch, ga = args_.gradient_accumulation_steps;
  train_loader_->set_epoch(epoch);
  handler_.on_epoch_begin(args_, state_, control_);
  std::unique_ptr<BatchPrefetcher> prefetcher;
  if (args_.dataloader_num_workers > 0)
    prefetcher =
        std::make_unique<BatchPrefetcher>(*train_loader_, first_micro_batch, batches, args_.dataloader_num_workers,
                                          args_.dataloader_num_workers * args_.dataloader_prefetch_factor.value_or(2));
  for (int64_t micro = first_micro_batch; micro < batches; ++micro) {
    if (micro % ga == 0) {
      current_gradient_accumulation_steps_ = std::min(ga, batches - micro);
      handler_.on_step_begin(args_, state_, control_);
      parallel_->broadcast_buffers();
    }
    const bool last_of_step = (micro + 1) % ga == 0 || micro + 1 == batches;
    accumulate_micro_batch(prefetcher ? prefetcher->next() : train_loader_->batch(micro), loop, last_of_step);
    if (last_of_step) {
      optimizer_step(loop);
      state_.epoch = static_cast<double>(epoch) + static_cast<double>(micro + 1) / static_cast<double>(batches);
      handler_.on_step_end(args_, state_, control_);
      parallel_->synchronize_control(control_);
      maybe_log_save_evaluate(loop);
      deliver_published_checkpoints();
    } else {
      handler_.on_substep_end(args_, state_, control_);
    }
    if (control_.should_epoch_stop || control_.should_training_stop) break;
  }
  handler_.on_epoch_end(args_, state_, control_);
  parallel_->synchronize_control(control_);
  maybe_log_save_evaluate(loop);
}

void Trainer::accumulate_micro_batch(const Batch& batch, LoopState& loop, bool synchronize) {
  loop.current_flos += flos_per_example_ * static_cast<double>(batch.size());
  // Every rank's batch holds as many values (padded shards): counted from the shape, no device read.
  if (args_.include_num_input_tokens_seen != InputTokensSeen::no)
    state_.num_input_tokens_seen += batch.inputs.numel() * process_.world_size;
  loop.examples_seen += batch.size();
  // Accumulation micro-batches keep their gradients local; the last one's backward averages them.
  parallel_->before_backward(synchronize);
  auto loss = training_step(*model_, batch);
  parallel_->after_backward(synchronize, state_.global_step + 1);
  ++loop.micro_batches_since_log;
  loop.add_loss(loss, args_.logging_nan_inf_filter, 1 + state_.global_step - loop.last_logged_step);
}

void Trainer::optimizer_step(LoopState& loop) {
  if (args_.max_grad_norm > 0) loop.grad_norm = clip_gradients(args_.max_grad_norm);
  handler_.on_pre_optimizer_step(args_, state_, control_);
  optimizer_->step();
  ++weights_version_;
  handler_.on_optimizer_step(args_, state_, control_);
  loop.learning_rate = current_learning_rate();
  if (!lr_scheduler_->is_metric_driven()) lr_scheduler_->step();
  zero_grad();
  state_.global_step += 1;
}

void Trainer::maybe_log_save_evaluate(LoopState& loop) {
  // Callbacks of on_log, on_evaluate and on_save may ask for a stop: the ranks agree on it after.
  const bool acts = control_.should_log || control_.should_evaluate || control_.should_save;
  if (control_.should_log && state_.global_step > loop.last_logged_step) {
    log_training_loss(loop);
  } else if (control_.should_evaluate || control_.should_save) {
    // Evaluating or saving a model that has already diverged helps nobody: check first.
    check_divergence(read_accumulators(loop).nonfinite, loop.micro_batches_since_log, /*at_log=*/false);
  }
  if (control_.should_evaluate) evaluate_during_training();
  if (control_.should_save) {
    save_checkpoint(loop);
    handler_.on_save(args_, state_, control_);
    deliver_published_checkpoints();
  }
  if (acts) parallel_->synchronize_control(control_);
}

void Trainer::log_training_loss(LoopState& loop) {
  // The one synchronisation of a logging step: loss, NaN count and grad norm in one read.
  const auto now = read_accumulators(loop);
  loop.reset_accumulators();
  const int64_t steps = state_.global_step - loop.last_logged_step;
  Json logs = Json::object();
  logs["loss"] = now.tr_loss / static_cast<double>(steps);
  if (now.grad_norm) logs["grad_norm"] = *now.grad_norm;
  logs["learning_rate"] = loop.learning_rate ? *loop.learning_rate : current_learning_rate();
  loop.total_loss_scalar += now.tr_loss;
  loop.last_logged_step = state_.global_step;
  const int64_t micro = loop.micro_batches_since_log;
  loop.micro_batches_since_log = 0;
  store_flos(loop);
  logging_training_loss_ = true;
  log(logs);
  logging_training_loss_ = false;
  check_divergence(now.nonfinite, micro, /*at_log=*/true);
  if (state_.global_step >= kSubnormalCheckStep) check_subnormal_state_once();
}

TrainOutput Trainer::finish_training(LoopState& loop, int64_t first_step) {
  // Every checkpoint is on disk before the best is loaded or rotation ends.
  checkpoints_.finish_writing(handler_, state_, control_);
  if (args_.load_best_model_at_end && state_.best_model_checkpoint) {
    if (state_.is_world_process_zero && checkpoints_.load_best_model(*model_, state_)) ++weights_version_;
    if (parallel_->share_weights_of_rank_zero()) ++weights_version_;
  }
  // The unlogged remainder joins the total (one read at the end of training).
  const auto rest = read_accumulators(loop);
  loop.total_loss_scalar += rest.tr_loss;
  check_divergence(rest.nonfinite, loop.micro_batches_since_log, /*at_log=*/false);
  if (state_.global_step >= kSubnormalCheckStep) check_subnormal_state_once();
  const double train_loss = loop.total_loss_scalar / std::max<double>(static_cast<double>(state_.global_step), 0.001);
  // The rates of the steps this call ran (the original divides the planned steps, which overstates
  // the speed of a run that stopped early or resumed late).
  Json metrics = speed_metrics("train", train_start_, static_cast<double>(loop.examples_seen * process_.world_size),
                               static_cast<double>(state_.global_step - first_step));
  store_flos(loop);
  metrics["total_flos"] = state_.total_flos;
  metrics["train_loss"] = train_loss;
  log(metrics);
  if (state_.best_model_checkpoint && args_.save_total_limit && *args_.save_total_limit == 1 &&
      state_.is_world_process_zero)
    checkpoints_.delete_all_but_best(state_);
  handler_.on_train_end(args_, state_, control_);
  TrainOutput out;
  out.global_step = state_.global_step;
  out.training_loss = train_loss;
  out.metrics = metrics;
  return out;
}

// ---- pieces of the phases ------------------------------------------------------------------------

CheckpointSubjects Trainer::checkpoint_subjects() {
  return CheckpointSubjects{*model_, *optimizer_, *lr_scheduler_, *parallel_, handler_, state_, control_};
}

void Trainer::save_checkpoint(LoopState& loop) {
  const auto started = Clock::now();
  // The previous asynchronous save must be published first: the best checkpoint may be that one.
  checkpoints_.finish_writing(handler_, state_, control_);
  // The original's store_flos() first, so that trainer_state.json counts every step it holds.
  // Every rank takes part (the loss and RNG states of all ranks go into the checkpoint); rank 0 alone writes.
  store_flos(loop);
  std::optional<LoopState::Accumulated> accumulated;
  if (!args_.save_only_model) accumulated = read_accumulators(loop);
  checkpoints_.save(checkpoint_subjects(), loop, accumulated, train_dataset_->size());
  save_stall_seconds_ += std::chrono::duration<double>(Clock::now() - started).count();
}

void Trainer::deliver_published_checkpoints() { checkpoints_.publish_completed(handler_, state_, control_); }

void Trainer::save_state() { checkpoints_.save_state(state_); }

void Trainer::save_model(const std::string& dir) { checkpoints_.save_model(*model_, dir); }

void Trainer::log_machine_hints_once(const RuntimeEnvironment& env) {
  // Facts about the process, the same for every run in it: said once.
  static std::once_flag once;
  std::call_once(once, [&env] {
    for (const auto& hint : machine_performance_hints(env)) log_warning("Performance: " + hint);
    for (const auto& idea : thread_tuning_suggestions(env, std::getenv("OMP_NUM_THREADS") != nullptr))
      log_info("Performance: " + idea);
  });
}

void Trainer::check_subnormal_state_once() {
  // Every rank's optimizer state is the same: one of them says it.
  if (subnormal_state_checked_ || !device_.is_cpu() || args_.flush_denormal || !process_.is_local_process_zero())
    return;
  subnormal_state_checked_ = true;
  const double share = subnormal_share_of_optimizer_state(*optimizer_);
  if (share < 0.01) return;
  log_warning("Performance: " + python_float_repr(std::round(share * 1000) / 10) +
              "% of the optimizer's state is subnormal at step " + std::to_string(state_.global_step) +
              "; arithmetic on such values is slow on many CPUs (a whole run measured " +
              "1.9x slower on an Intel CPU): --flush_denormal true (the default) flushes them to zero");
}

LoopState::Accumulated Trainer::read_accumulators(const LoopState& loop) {
  ++host_reads_;
  return parallel_->over_ranks(loop.read_accumulators());
}

void Trainer::store_flos(LoopState& loop) {
  state_.total_flos += parallel_->sum_over_ranks(loop.current_flos);
  loop.current_flos = 0;
}

void Trainer::check_divergence(int64_t nonfinite, int64_t local_micro_batches, bool at_log) {
  if (nonfinite <= 0) return;
  const int64_t micro_batches = local_micro_batches * process_.world_size;  // as nonfinite, over every rank
  const std::string where = std::to_string(nonfinite) + " of the last " + std::to_string(micro_batches) +
                            " micro-batch losses before step " + std::to_string(state_.global_step) +
                            " were NaN or infinite";
  const char* advice = "; lower --learning_rate, keep --max_grad_norm > 0, or check the data for NaN values";
  if (!args_.logging_nan_inf_filter || nonfinite >= micro_batches)
    throw TrainingDivergedError("training diverged: " + where + advice);
  // Losses left out by the filter are harmless only while the weights are still finite.
  std::vector<torch::Tensor> finite;
  for (const auto& p : parameters_) finite.push_back(p.isfinite().all());
  if (!finite.empty() && !read_scalar(torch::stack(finite).all().to(torch::kDouble)))
    throw TrainingDivergedError("training diverged: the weights became NaN or infinite (" + where + ")" + advice);
  if (at_log) log_warning(where + "; they were left out of the logged loss (--logging_nan_inf_filter)");
}

}  // namespace trainer
