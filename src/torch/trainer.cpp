#include "trainer/torch/trainer.h"

#include <cmath>
#include <filesystem>
#include <sstream>
#include <ostream>

#include <torch/torch.h>

#include "trainer/callbacks/default_flow_callback.h"
#include "trainer/callbacks/printer_callback.h"
#include "trainer/callbacks/progress_callback.h"
#include "trainer/core/atomic_file.h"
#include "trainer/integrations/registry.h"
#include "trainer/core/logging.h"
#include "trainer/torch/checkpoint.h"
#include "trainer/core/argument_spec.h"
#include "trainer/torch/device.h"
#include "trainer/torch/fused_optimizers.h"
#include "trainer/torch/optimizer_state.h"
#include "trainer/torch/optimizers.h"
#include "trainer/torch/rng_state.h"
#include "trainer/torch/safetensors.h"

namespace trainer {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

double round_to(double v, int digits) {
  const double scale = std::pow(10.0, digits);
  return std::round(v * scale) / scale;
}

// The original's speed_metrics(): runtime rounded to 4 decimals, rates to 3.
Json speed_metrics(const std::string& split, Clock::time_point start, double num_samples, double num_steps) {
  const double runtime = std::chrono::duration<double>(Clock::now() - start).count();
  Json m = Json::object();
  m[split + "_runtime"] = round_to(runtime, 4);
  if (runtime == 0) return m;
  m[split + "_samples_per_second"] = round_to(num_samples / runtime, 3);
  m[split + "_steps_per_second"] = round_to(num_steps / runtime, 3);
  return m;
}

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

}  // namespace

Json compute_accuracy(const EvalPrediction& p) {
  if (!p.predictions.defined() || p.predictions.size(0) == 0) return Json{{"accuracy", 0.0}};
  auto correct = p.predictions.argmax(-1).eq(p.label_ids).sum().item<int64_t>();
  return Json{{"accuracy", static_cast<double>(correct) / static_cast<double>(p.label_ids.size(0))}};
}

// Everything the loop carries between steps. Losses stay on the device until a log reads them.
struct Trainer::LoopState {
  torch::Tensor tr_loss;      // sum of micro-batch losses since the last log
  torch::Tensor nonfinite;    // NaN/Inf micro-batch losses since the last log
  torch::Tensor grad_norm;    // pre-clip norm of the last optimizer step (undefined without clipping)
  double total_loss_scalar = 0;
  int64_t last_logged_step = 0;
  int64_t micro_batches_since_log = 0;
  int64_t examples_seen = 0;  // in this train() call, for the speed metrics
  std::optional<double> learning_rate;
};

Trainer::Trainer(std::shared_ptr<Model> model, TrainingArguments args, std::shared_ptr<const TensorDataset> train_dataset,
                 std::shared_ptr<const TensorDataset> eval_dataset, std::vector<std::shared_ptr<TrainerCallback>> callbacks,
                 ComputeMetrics compute_metrics)
    : model_(std::move(model)),
      args_(std::move(args)),
      train_dataset_(std::move(train_dataset)),
      eval_dataset_(std::move(eval_dataset)),
      compute_metrics_(std::move(compute_metrics)),
      device_(torch::kCPU) {
  if (!model_) throw std::invalid_argument("Trainer: no model");
  args_.finalize();
  if (args_.log_level != "passive") set_log_level(parse_log_level(args_.log_level));
  if (args_.fp16)
    throw ArgumentError("--fp16: float16 training needs a gradient scaler, which this library does not have yet; "
                        "use --bf16 (bfloat16 autocast, on CPU and CUDA) instead");
  if (args_.do_eval() && !eval_dataset_)
    throw ArgumentError("--eval_strategy " + args_.eval_strategy + ": needs an evaluation dataset (--eval_file, or pass eval_dataset)");
  process_ = ProcessInfo::from_environment();
  device_ = resolve_device(args_);
  set_seed(args_.seed);
  model_->to(device_);

  state_.is_world_process_zero = process_.is_world_process_zero();
  state_.is_local_process_zero = process_.is_local_process_zero();

  // Order (§4): flow control first, then the trackers, the user's callbacks, the display last.
  handler_.add_callback(std::make_shared<DefaultFlowCallback>());
  for (auto& cb : integration_callbacks(args_.report_to)) handler_.add_callback(std::move(cb));
  for (auto& cb : callbacks) handler_.add_callback(std::move(cb));
  if (args_.disable_tqdm_resolved()) handler_.add_callback(std::make_shared<PrinterCallback>());
  else handler_.add_callback(std::make_shared<ProgressCallback>());
  handler_.context().model = model_.get();
  handler_.context().model_description = dump_json(model_->config(), {2, false, true});
  handler_.context().save_model = [this](const std::string& dir) { save_model(dir); };
  handler_.on_init_end(args_, state_, control_);
}

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
  return std::make_unique<TensorDataLoader>(train_dataset_, o);
}

std::unique_ptr<TensorDataLoader> Trainer::get_eval_dataloader(std::shared_ptr<const TensorDataset> dataset) {
  TensorDataLoader::Options o;
  o.batch_size = args_.eval_batch_size();
  o.device = device_;
  o.pin_memory = args_.dataloader_pin_memory;
  return std::make_unique<TensorDataLoader>(std::move(dataset), o);
}

void Trainer::create_optimizer() { optimizer_ = trainer::create_optimizer(args_, *model_); }

void Trainer::create_scheduler(int64_t num_training_steps) {
  std::vector<double> base;
  for (size_t g = 0; g < optimizer_->param_groups().size(); ++g) base.push_back(group_learning_rate(*optimizer_, g));
  auto* opt = optimizer_.get();
  try {
    lr_scheduler_ = get_scheduler(args_.lr_scheduler_type, base, [opt](size_t g, double lr) { set_group_learning_rate(*opt, g, lr); },
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
  if (out.scalar_type() != torch::kFloat && out.is_floating_point()) out = out.to(torch::kFloat);  // the loss in float32
  if (logits) *logits = out;
  namespace F = torch::nn::functional;
  return F::cross_entropy(out, batch.labels, F::CrossEntropyFuncOptions().label_smoothing(args_.label_smoothing_factor));
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
  Json entry = logs;
  entry["step"] = state_.global_step;
  state_.log_history.push_back(std::move(entry));
  handler_.on_log(args_, state_, control_, logs);
}

std::optional<fs::path> Trainer::resolve_resume_dir(const std::optional<std::string>& request) const {
  const auto& r = request ? request : args_.resume_from_checkpoint;
  if (!r || r->empty() || *r == "false" || *r == "False") return std::nullopt;
  if (*r == "last" || *r == "true" || *r == "True") {
    auto found = latest_valid_checkpoint(args_.output_dir);
    if (!found)
      throw ArgumentError("--resume_from_checkpoint " + *r + ": no checkpoint to resume from in --output_dir " + args_.output_dir);
    return found;
  }
  const auto problem = checkpoint_problem(*r);
  if (!problem.empty())
    throw ArgumentError("--resume_from_checkpoint: " + *r + " cannot be resumed from (" + problem +
                        "); name another checkpoint, or pass last to resume from the newest complete one in --output_dir");
  return fs::path(*r);
}

void Trainer::restore_callback_states(const Json& stored) {
  if (!stored.is_object()) return;
  std::vector<std::string> unmatched;
  for (auto it = stored.begin(); it != stored.end(); ++it) {
    const std::string& name = it.key();
    if (name == "TrainerControl") {
      control_ = TrainerControl::from_state(it.value());
      continue;
    }
    const Json states = it.value().is_array() ? it.value() : Json::array({it.value()});
    size_t next = 0;
    // Restored in place: the callbacks keep their positions in the list.
    for (const auto& cb : handler_.callbacks()) {
      auto* exportable = dynamic_cast<ExportableState*>(cb.get());
      if (!exportable || cb->name() != name || next >= states.size()) continue;
      exportable->load_state(states[next++]);
    }
    if (next == 0) unmatched.push_back(name);
  }
  if (!unmatched.empty()) {
    std::string names;
    for (const auto& n : unmatched) names += (names.empty() ? "" : ", ") + n;
    log_warning("Checkpoint included callbacks not included in current configuration. Ignoring. (" + names + ")");
  }
}

Trainer::TrainingPlan Trainer::plan_training() const {
  TrainingPlan plan;
  const int64_t len_dl = train_loader_->num_batches();
  if (len_dl == 0)
    throw ArgumentError("the training dataset (" + std::to_string(train_dataset_->size()) +
                        " examples) yields no batch of --per_device_train_batch_size " + std::to_string(args_.train_batch_size()) +
                        " with --dataloader_drop_last");
  const int64_t ga = args_.gradient_accumulation_steps;
  plan.updates_per_epoch = std::max<int64_t>((len_dl + ga - 1) / ga, 1);
  if (args_.max_steps > 0) {
    plan.max_steps = args_.max_steps;
    plan.num_train_epochs = (plan.max_steps + plan.updates_per_epoch - 1) / plan.updates_per_epoch;
  } else {
    plan.max_steps = static_cast<int64_t>(std::ceil(args_.num_train_epochs * static_cast<double>(plan.updates_per_epoch)));
    plan.num_train_epochs = static_cast<int64_t>(std::ceil(args_.num_train_epochs));
  }
  return plan;
}

void Trainer::validate_data_and_model() {
  const auto& train_in = train_dataset_->inputs;
  if (eval_dataset_) {
    const auto& eval_in = eval_dataset_->inputs;
    if (eval_in.sizes().slice(1) != train_in.sizes().slice(1)) {
      std::ostringstream msg;
      msg << "--eval_file: the evaluation examples have shape " << eval_in.sizes().slice(1) << ", the training examples "
          << train_in.sizes().slice(1) << "; evaluate on data with the training data's features";
      throw ArgumentError(msg.str());
    }
    if (!eval_dataset_->feature_names.empty() && !train_dataset_->feature_names.empty() &&
        eval_dataset_->feature_names != train_dataset_->feature_names)
      throw ArgumentError("--eval_file: its feature columns are not the training data's (load it with the training data's "
                          "feature_names as the column order)");
  }
  // One batch through the model, before the first step: a model whose outputs cannot be scored
  // against these labels fails here with a message, not inside the loss after set-up.
  int64_t largest = train_dataset_->labels.numel() ? train_dataset_->labels.max().item<int64_t>() : 0;
  if (eval_dataset_ && eval_dataset_->labels.numel()) largest = std::max(largest, eval_dataset_->labels.max().item<int64_t>());
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
    throw ArgumentError("--model: the model must return one row of logits per example, shape [" + std::to_string(sample.size()) +
                        ", classes]; it returned " + shape_text(logits.sizes()) + " for a batch of " +
                        std::to_string(sample.size()));
  if (logits.size(1) <= largest_label)
    throw ArgumentError("--model: the model outputs " + std::to_string(logits.size(1)) + " logits per example, but the labels go up to " +
                        std::to_string(largest_label) + " (" + std::to_string(largest_label + 1) +
                        " classes); use a model with at least that many outputs, or labels 0.." + std::to_string(logits.size(1) - 1));
}

void Trainer::check_resume_compatible(const fs::path& dir, const std::optional<SavedLoopState>& saved_loop) {
  std::vector<std::string> blocking;
  if (fs::exists(dir / "training_args.json")) {
    const auto diff = compare_resume_arguments(read_json_file(dir / "training_args.json"), args_);
    for (const auto& line : diff.changes_training) log_warning("Resuming " + dir.string() + " with other arguments: " + line);
    blocking = diff.changes_batches;
  }
  if (saved_loop && saved_loop->num_train_examples && *saved_loop->num_train_examples != train_dataset_->size())
    blocking.push_back("the training data: " + std::to_string(train_dataset_->size()) + " examples now, " +
                       std::to_string(*saved_loop->num_train_examples) + " in the checkpoint");
  if (blocking.empty()) return;
  std::string list;
  for (const auto& line : blocking) list += "\n  " + line;
  if (args_.force_resume) {
    log_warning("--force_resume: resuming " + dir.string() + " although its batches differ (the data position is approximate):" + list);
    return;
  }
  throw ArgumentError("--resume_from_checkpoint: " + dir.string() +
                      " was trained on other batches, so its data position means nothing for this run:" + list +
                      "\nResume with the checkpoint's values, train into a new --output_dir, or pass --force_resume to resume anyway");
}

void Trainer::load_checkpoint_weights(const fs::path& dir) {
  try {
    model_->load_state_dict(load_safetensors(dir / "model.safetensors"));
  } catch (const std::runtime_error& e) {
    throw ArgumentError("--resume_from_checkpoint: " + dir.string() + " holds a different model (" + e.what() +
                        "); resume with the model it was trained with, or train into a new --output_dir");
  }
  ++weights_version_;
}

TrainOutput Trainer::train(std::optional<std::string> resume_from_checkpoint) {
  if (!train_dataset_) throw std::invalid_argument("Trainer::train: no training dataset was given");
  train_loader_ = get_train_dataloader();
  const TrainingPlan plan = plan_training();
  const int64_t ga = args_.gradient_accumulation_steps;
  const int64_t len_dl = train_loader_->num_batches();
  const int64_t updates_per_epoch = plan.updates_per_epoch, max_steps = plan.max_steps, num_train_epochs = plan.num_train_epochs;
  validate_data_and_model();

  const auto resume_dir = resolve_resume_dir(resume_from_checkpoint);
  // The checkpoint's state files, read once: they decide whether there is anything to do.
  std::optional<TrainerState> saved_state;
  std::optional<SavedLoopState> saved_loop;
  if (resume_dir) {
    saved_state = TrainerState::load_from_json(*resume_dir / "trainer_state.json");
    if (fs::exists(*resume_dir / "loop_state.json")) saved_loop = SavedLoopState::read(*resume_dir / "loop_state.json");
    const int64_t done = saved_state->global_step;
    if (done >= max_steps) {
      // A finished run: nothing trains, nothing is written.
      log_info("Nothing to do: " + resume_dir->string() + " has already trained " + std::to_string(done) + " of " +
               std::to_string(max_steps) + " steps");
      TrainOutput out;
      out.global_step = done;
      out.already_complete = true;
      out.resumed_from = resume_dir->string();
      out.max_steps = max_steps;
      return out;
    }
    check_resume_compatible(*resume_dir, saved_loop);
    log_info("Resuming from " + resume_dir->string());
    load_checkpoint_weights(*resume_dir);
  }

  // A new state for every train() call (§7.2).
  state_ = TrainerState{};
  state_.is_world_process_zero = process_.is_world_process_zero();
  state_.is_local_process_zero = process_.is_local_process_zero();
  state_.train_batch_size = args_.train_batch_size();
  state_.compute_steps(args_, max_steps);
  state_.max_steps = max_steps;
  state_.num_train_epochs = num_train_epochs;

  if (device_.is_cpu()) set_flush_denormal(args_.flush_denormal);
  // The parameter handles, once: the step must not rebuild name lists.
  parameters_.clear();
  for (auto& [name, p] : model_->named_parameters()) parameters_.push_back(p);
  create_optimizer();
  create_scheduler(max_steps);
  checkpoint_writer_ = std::make_unique<CheckpointWriter>(args_.save_async);
  save_stall_seconds_ = 0;
  saves_ = 0;
  auto& ctx = handler_.context();
  ctx.model = model_.get();
  ctx.optimizer = optimizer_.get();
  ctx.lr_scheduler = lr_scheduler_.get();
  ctx.train_dataloader = train_loader_.get();

  const double flos_per_example = 6.0 * static_cast<double>(model_->num_parameters());
  const auto float_opts = torch::TensorOptions().dtype(torch::kFloat).device(device_);
  LoopState loop;
  loop.tr_loss = torch::zeros({}, float_opts);
  loop.nonfinite = torch::zeros({}, float_opts);
  loop.last_logged_step = state_.global_step;
  const auto start_time = Clock::now();
  state_.epoch = 0;
  int64_t epochs_trained = 0, micro_batches_to_skip = 0;
  if (resume_dir) {
    if (fs::exists(*resume_dir / "optimizer.safetensors") && fs::exists(*resume_dir / "scheduler.json")) {
      load_optimizer_state(*optimizer_, *resume_dir / "optimizer.safetensors");
      lr_scheduler_->load_state_dict(read_json_file(*resume_dir / "scheduler.json"));
    }
    TrainerState saved = std::move(*saved_state);
    if (saved.logging_steps != state_.logging_steps || saved.eval_steps != state_.eval_steps || saved.save_steps != state_.save_steps)
      log_warning("The checkpoint's logging/eval/save intervals differ from the current arguments; the checkpoint's are used");
    saved.max_steps = state_.max_steps;
    saved.num_train_epochs = state_.num_train_epochs;
    saved.is_world_process_zero = state_.is_world_process_zero;
    saved.is_local_process_zero = state_.is_local_process_zero;
    state_ = std::move(saved);
    if (state_.best_model_checkpoint && !fs::exists(*state_.best_model_checkpoint)) {
      log_warning("best_model_checkpoint " + *state_.best_model_checkpoint + " no longer exists; forgetting it");
      state_.best_model_checkpoint.reset();
    }
    if (args_.restore_callback_states_from_checkpoint) restore_callback_states(state_.stateful_callbacks);
    loop.last_logged_step = state_.global_step;
    if (saved_loop) {
      // The loss accumulated since the last log, so the next log and train_loss match an
      // uninterrupted run.
      const SavedLoopState& ls = *saved_loop;
      loop.tr_loss.fill_(ls.tr_loss);
      loop.nonfinite.fill_(ls.nonfinite);
      loop.total_loss_scalar = ls.total_loss_scalar;
      loop.last_logged_step = ls.last_logged_step;
      loop.micro_batches_since_log = ls.micro_batches_since_log;
      current_flos_ = ls.current_flos;
      if (ls.grad_norm) loop.grad_norm = torch::full({}, *ls.grad_norm, float_opts);
      loop.learning_rate = ls.learning_rate;
    }
    epochs_trained = state_.global_step / updates_per_epoch;
    micro_batches_to_skip = args_.ignore_data_skip ? 0 : (state_.global_step % updates_per_epoch) * ga;
  }
  zero_grad();
  const int64_t first_step = state_.global_step;

  handler_.on_train_begin(args_, state_, control_);
  if (args_.eval_on_start) evaluate();

  for (int64_t epoch = epochs_trained; epoch < num_train_epochs; ++epoch) {
    train_loader_->set_epoch(epoch);
    const int64_t steps_in_epoch = len_dl;
    handler_.on_epoch_begin(args_, state_, control_);
    int64_t first_micro = 0;
    if (resume_dir && epoch == epochs_trained) {
      // Batches already seen are skipped without being read: the order of an epoch depends only on
      // (seed, epoch), so the micro-step counter continues where the checkpoint left it.
      first_micro = micro_batches_to_skip;
      if (fs::exists(*resume_dir / "rng_state.pth")) load_rng_state(*resume_dir / "rng_state.pth");
      else log_info("No rng_state.pth in the checkpoint; random state not restored");
    }
    std::unique_ptr<BatchPrefetcher> prefetcher;
    if (args_.dataloader_num_workers > 0)
      prefetcher = std::make_unique<BatchPrefetcher>(*train_loader_, first_micro, steps_in_epoch, args_.dataloader_num_workers,
                                                     args_.dataloader_num_workers * args_.dataloader_prefetch_factor.value_or(2));
    int64_t step = first_micro - 1;
    for (int64_t micro = first_micro; micro < steps_in_epoch; ++micro) {
      step = micro;
      const bool sync_step = (step + 1) % ga == 0 || step + 1 == steps_in_epoch;
      if (step % ga == 0) {
        current_gradient_accumulation_steps_ = std::min(ga, steps_in_epoch - step);
        handler_.on_step_begin(args_, state_, control_);
      }
      Batch batch = prefetcher ? prefetcher->next() : train_loader_->batch(micro);
      current_flos_ += flos_per_example * static_cast<double>(batch.size());
      loop.examples_seen += batch.size();
      auto loss = training_step(*model_, batch);
      ++loop.micro_batches_since_log;
      auto bad = loss.isfinite().logical_not();
      loop.nonfinite.add_(bad);
      if (args_.logging_nan_inf_filter) {
        // A NaN/Inf loss is replaced by the running mean, as the original does, without a sync.
        const double denom = static_cast<double>(1 + state_.global_step - loop.last_logged_step);
        loop.tr_loss.add_(torch::where(bad, loop.tr_loss / denom, loss.to(torch::kFloat)));
      } else {
        loop.tr_loss.add_(loss);
      }

      if (sync_step) {
        if (args_.max_grad_norm > 0) loop.grad_norm = clip_gradients(args_.max_grad_norm);
        handler_.on_pre_optimizer_step(args_, state_, control_);
        optimizer_->step();
        ++weights_version_;
        handler_.on_optimizer_step(args_, state_, control_);
        loop.learning_rate = current_learning_rate();
        if (!lr_scheduler_->is_metric_driven()) lr_scheduler_->step();
        zero_grad();
        state_.global_step += 1;
        state_.epoch = static_cast<double>(epoch) + static_cast<double>(step + 1) / static_cast<double>(steps_in_epoch);
        handler_.on_step_end(args_, state_, control_);
        maybe_log_save_evaluate(loop);
      } else {
        handler_.on_substep_end(args_, state_, control_);
      }
      if (control_.should_epoch_stop || control_.should_training_stop) break;
    }
    if (step < 0) {
      log_warning("There seems not to be a single sample in your epoch; stopping training at step " +
                  std::to_string(state_.global_step));
      control_.should_training_stop = true;
    }
    handler_.on_epoch_end(args_, state_, control_);
    maybe_log_save_evaluate(loop);
    if (control_.should_training_stop) break;
  }

  checkpoint_writer_->wait();  // every checkpoint is on disk before the best is loaded or rotation ends
  if (args_.load_best_model_at_end && state_.best_model_checkpoint) {
    const fs::path weights = fs::path(*state_.best_model_checkpoint) / "model.safetensors";
    if (fs::exists(weights)) {
      log_info("Loading best model from " + *state_.best_model_checkpoint + " (score: " + python_float_repr(*state_.best_metric) + ")");
      model_->load_state_dict(load_safetensors(weights));
      ++weights_version_;
    } else {
      log_warning("Could not locate the best model at " + weights.string() + ", if you are running distributed training on multiple nodes, you should activate `--save_on_each_node`.");
    }
  }

  // The unlogged remainder joins the total (one read at the end of training).
  auto rest = torch::stack({loop.tr_loss, loop.nonfinite}).to(torch::kCPU);
  ++host_reads_;
  loop.total_loss_scalar += rest[0].item<double>();
  check_divergence(static_cast<int64_t>(rest[1].item<double>()), loop.micro_batches_since_log, /*at_log=*/false);
  const double train_loss = loop.total_loss_scalar / std::max<double>(static_cast<double>(state_.global_step), 0.001);
  // The rates of the steps this call ran (the original divides the planned steps, which overstates
  // the speed of a run that stopped early or resumed late).
  Json metrics = speed_metrics("train", start_time, static_cast<double>(loop.examples_seen * process_.world_size),
                               static_cast<double>(state_.global_step - first_step));
  state_.total_flos += current_flos_;
  current_flos_ = 0;
  metrics["total_flos"] = state_.total_flos;
  metrics["train_loss"] = train_loss;
  log(metrics);

  if (state_.best_model_checkpoint && args_.save_total_limit && *args_.save_total_limit == 1) {
    for (const auto& ckpt : sorted_checkpoints(args_.output_dir)) {
      if (ckpt.lexically_normal() != fs::path(*state_.best_model_checkpoint).lexically_normal()) {
        log_info("Deleting older checkpoint [" + ckpt.string() + "] due to save_total_limit");
        remove_checkpoint(ckpt);
      }
    }
  }
  handler_.on_train_end(args_, state_, control_);
  TrainOutput out;
  out.global_step = state_.global_step;
  out.training_loss = train_loss;
  out.metrics = metrics;
  out.resumed_from = resume_dir ? resume_dir->string() : std::string();
  out.max_steps = max_steps;
  return out;
}

void Trainer::maybe_log_save_evaluate(LoopState& loop) {
  if (control_.should_log && state_.global_step > loop.last_logged_step) {
    // The one synchronisation of a logging step: loss, NaN count and grad norm in one read.
    std::vector<torch::Tensor> parts = {loop.tr_loss, loop.nonfinite};
    if (loop.grad_norm.defined()) parts.push_back(loop.grad_norm.to(torch::kFloat));
    auto host = torch::stack(parts).to(torch::kCPU);
    ++host_reads_;
    const double tr_loss = host[0].item<double>();
    const auto nonfinite = static_cast<int64_t>(host[1].item<double>());
    loop.tr_loss.zero_();
    loop.nonfinite.zero_();
    const int64_t steps = state_.global_step - loop.last_logged_step;
    Json logs = Json::object();
    logs["loss"] = tr_loss / static_cast<double>(steps);
    if (loop.grad_norm.defined()) logs["grad_norm"] = host[2].item<double>();
    logs["learning_rate"] = loop.learning_rate ? *loop.learning_rate : current_learning_rate();
    loop.total_loss_scalar += tr_loss;
    loop.last_logged_step = state_.global_step;
    const int64_t micro = loop.micro_batches_since_log;
    loop.micro_batches_since_log = 0;
    state_.total_flos += current_flos_;
    current_flos_ = 0;
    log(logs);
    check_divergence(nonfinite, micro, /*at_log=*/true);
  } else if (control_.should_evaluate || control_.should_save) {
    // Evaluating or saving a model that has already diverged helps nobody: check first.
    check_divergence(static_cast<int64_t>(read_scalar(loop.nonfinite)), loop.micro_batches_since_log, /*at_log=*/false);
  }
  if (control_.should_evaluate) {
    Json metrics = evaluate();
    if (lr_scheduler_->is_metric_driven()) {
      std::string key = args_.metric_for_best_model.value_or("loss");
      if (key.rfind("eval_", 0) != 0) key = "eval_" + key;
      if (!metrics.contains(key) || !metrics[key].is_number())
        throw ArgumentError("--lr_scheduler_type reduce_lr_on_plateau: the metric " + key + " is not in the evaluation metrics");
      lr_scheduler_->step_with_metric(metrics[key].get<double>());
    }
    const bool new_best = determine_best_metric(metrics);
    if (args_.save_strategy == "best") control_.should_save = new_best;
  }
  if (control_.should_save) {
    save_checkpoint(loop);
    handler_.on_save(args_, state_, control_);
  }
}

void Trainer::check_divergence(int64_t nonfinite, int64_t micro_batches, bool at_log) {
  if (nonfinite <= 0) return;
  const std::string where = std::to_string(nonfinite) + " of the last " + std::to_string(micro_batches) +
                            " micro-batch losses before step " + std::to_string(state_.global_step) + " were NaN or infinite";
  const char* advice = "; lower --learning_rate, keep --max_grad_norm > 0, or check the data for NaN values";
  if (!args_.logging_nan_inf_filter || nonfinite >= micro_batches) throw TrainingDivergedError("training diverged: " + where + advice);
  // Losses left out by the filter are harmless only while the weights are still finite.
  std::vector<torch::Tensor> finite;
  for (const auto& p : parameters_) finite.push_back(p.isfinite().all());
  if (!finite.empty() && !read_scalar(torch::stack(finite).all().to(torch::kDouble)))
    throw TrainingDivergedError("training diverged: the weights became NaN or infinite (" + where + ")" + advice);
  if (at_log) log_warning(where + "; they were left out of the logged loss (--logging_nan_inf_filter)");
}

bool Trainer::determine_best_metric(const Json& metrics) {
  if (!args_.metric_for_best_model) return false;
  std::string key = *args_.metric_for_best_model;
  if (key.rfind("eval_", 0) != 0) key = "eval_" + key;
  if (!metrics.contains(key) || !metrics[key].is_number()) {
    std::string keys;
    for (auto it = metrics.begin(); it != metrics.end(); ++it) keys += (keys.empty() ? "" : ", ") + it.key();
    throw ArgumentError("--metric_for_best_model: the evaluation metrics have no key '" + key + "' (available: " + keys +
                        "); choose one of them");
  }
  const double value = metrics[key].get<double>();
  const bool greater = args_.greater_is_better.value_or(true);
  const double best = state_.best_metric.value_or(greater ? -HUGE_VAL : HUGE_VAL);
  if (greater ? value > best : value < best) {
    state_.best_metric = value;
    state_.best_global_step = state_.global_step;
    return true;
  }
  return false;
}

void Trainer::save_checkpoint(const LoopState& loop) {
  const auto started = Clock::now();
  const fs::path run_dir = args_.output_dir;
  const int64_t step = state_.global_step;
  // The previous asynchronous save must be published first: the best checkpoint may be that one.
  checkpoint_writer_->wait();
  // The loop only copies the state (tensors to host memory, small files serialised); encoding and
  // writing the large files happens in the writer, on its thread with --save_async.
  CheckpointFiles files;
  NamedTensors weights;
  for (auto& [name, t] : model_->state_dict()) weights.emplace_back(name, snapshot_pool_.copy("model." + name, t));
  files.emplace_back("model.safetensors", [weights = std::move(weights)] { return safetensors_bytes(weights); });
  files.emplace_back("training_args.json", contents(dump_json(args_.to_json()) + "\n"));
  if (!args_.save_only_model) {
    files.emplace_back("optimizer.safetensors",
                       [snapshot = snapshot_optimizer(*optimizer_, &snapshot_pool_)] { return optimizer_state_bytes(snapshot); });
    files.emplace_back("scheduler.json", contents(dump_json(lr_scheduler_->state_dict()) + "\n"));
    files.emplace_back("rng_state.pth", contents(rng_state_bytes()));
    // What the loop has accumulated since its last log (one read per save).
    std::vector<torch::Tensor> parts = {loop.tr_loss, loop.nonfinite};
    if (loop.grad_norm.defined()) parts.push_back(loop.grad_norm.to(torch::kFloat));
    auto host = torch::stack(parts).to(torch::kCPU);
    ++host_reads_;
    SavedLoopState ls;
    ls.tr_loss = host[0].item<double>();
    ls.nonfinite = host[1].item<double>();
    ls.total_loss_scalar = loop.total_loss_scalar;
    ls.last_logged_step = loop.last_logged_step;
    ls.micro_batches_since_log = loop.micro_batches_since_log;
    ls.current_flos = current_flos_;
    if (loop.grad_norm.defined()) ls.grad_norm = host[2].item<double>();
    ls.learning_rate = loop.learning_rate;
    ls.num_train_examples = train_dataset_->size();
    files.emplace_back("loop_state.json", contents(ls.to_json_string()));
  }
  if (state_.best_global_step) {
    const fs::path best = run_dir / checkpoint_dir_name(*state_.best_global_step);
    if (*state_.best_global_step == step || fs::exists(best)) state_.best_model_checkpoint = best.string();
  }
  // Stateful callbacks, replaced (not appended) on every save; duplicates become a list.
  Json stateful = Json::object();
  for (const auto& cb : handler_.callbacks()) {
    auto* exportable = dynamic_cast<ExportableState*>(cb.get());
    if (!exportable) continue;
    const std::string name = cb->name();
    if (!stateful.contains(name)) stateful[name] = exportable->state();
    else if (stateful[name].is_array()) stateful[name].push_back(exportable->state());
    else stateful[name] = Json::array({stateful[name], exportable->state()});
  }
  stateful["TrainerControl"] = control_.state();
  state_.stateful_callbacks = stateful;
  files.emplace_back("trainer_state.json", contents(state_.to_json_string()));

  std::function<void()> rotate;
  if (args_.save_total_limit)
    rotate = [run_dir, limit = *args_.save_total_limit, best = state_.best_model_checkpoint] { rotate_checkpoints(run_dir, limit, best); };
  checkpoint_writer_->submit(run_dir, step, std::move(files), std::move(rotate));
  save_stall_seconds_ += std::chrono::duration<double>(Clock::now() - started).count();
  ++saves_;
}

Json Trainer::evaluation_loop(TensorDataLoader& loader, const std::string& prefix, bool loss_only, torch::Tensor* predictions,
                              torch::Tensor* labels) {
  handler_.context().eval_dataloader = &loader;
  const bool collect = !loss_only && (compute_metrics_ || predictions);
  model_->eval();
  torch::NoGradGuard no_grad;
  auto loss_sum = torch::zeros({}, torch::TensorOptions().dtype(torch::kDouble).device(device_));
  std::vector<torch::Tensor> all_logits, all_labels;
  for (int64_t i = 0; i < loader.num_batches(); ++i) {
    Batch batch = loader.batch(i);
    auto out = prediction_step(*model_, batch, !collect);
    loss_sum.add_(out.loss.to(torch::kDouble) * static_cast<double>(batch.size()));
    if (collect) {
      all_logits.push_back(out.logits);
      all_labels.push_back(batch.labels);
    }
    handler_.on_prediction_step(args_, state_, control_);
  }
  model_->train();
  Json metrics = Json::object();
  if (collect && !all_logits.empty()) {
    EvalPrediction p{torch::cat(all_logits).to(torch::kCPU), torch::cat(all_labels).to(torch::kCPU)};
    if (compute_metrics_) metrics = compute_metrics_(p);
    if (predictions) *predictions = p.predictions;
    if (labels) *labels = p.label_ids;
  }
  const auto n = static_cast<double>(loader.num_examples());
  if (n > 0) metrics[prefix + "_loss"] = read_scalar(loss_sum) / n;
  // Prefix every key, moving renamed keys to the end as the original does.
  std::vector<std::string> keys;
  for (auto it = metrics.begin(); it != metrics.end(); ++it) keys.push_back(it.key());
  for (const auto& k : keys) {
    if (k.rfind(prefix + "_", 0) == 0) continue;
    Json v = metrics[k];
    metrics.erase(k);
    metrics[prefix + "_" + k] = v;
  }
  return metrics;
}

Json Trainer::evaluate(std::shared_ptr<const TensorDataset> dataset, const std::string& prefix) {
  if (!dataset) dataset = eval_dataset_;
  if (!dataset) throw std::invalid_argument("Trainer::evaluate: no evaluation dataset (pass one, or give eval_dataset to the Trainer)");
  eval_loader_ = get_eval_dataloader(dataset);
  const auto start = Clock::now();
  Json metrics = evaluation_loop(*eval_loader_, prefix, args_.prediction_loss_only, nullptr, nullptr);
  const double n = static_cast<double>(eval_loader_->num_examples());
  const double steps = std::ceil(n / static_cast<double>(args_.eval_batch_size() * process_.world_size));
  metrics.update(speed_metrics(prefix, start, n, steps));
  log(metrics);
  handler_.on_evaluate(args_, state_, control_, metrics);
  last_evaluation_ = EvaluationRecord{metrics, dataset.get(), weights_version_};
  return metrics;
}

std::optional<Json> Trainer::evaluation_of_current_weights(std::shared_ptr<const TensorDataset> dataset) const {
  if (!dataset) dataset = eval_dataset_;
  if (!last_evaluation_ || last_evaluation_->dataset != dataset.get() || last_evaluation_->weights_version != weights_version_)
    return std::nullopt;
  return last_evaluation_->metrics;
}

PredictionOutput Trainer::predict(std::shared_ptr<const TensorDataset> dataset, const std::string& prefix) {
  if (!dataset) throw std::invalid_argument("Trainer::predict: no dataset");
  eval_loader_ = get_eval_dataloader(dataset);
  const auto start = Clock::now();
  PredictionOutput out;
  out.metrics = evaluation_loop(*eval_loader_, prefix, args_.prediction_loss_only, &out.predictions, &out.label_ids);
  const double n = static_cast<double>(eval_loader_->num_examples());
  const double steps = std::ceil(n / static_cast<double>(args_.eval_batch_size() * process_.world_size));
  out.metrics.update(speed_metrics(prefix, start, n, steps));
  handler_.on_predict(args_, state_, control_, out.metrics);
  return out;
}

void Trainer::save_state() {
  if (!state_.is_world_process_zero) return;
  fs::create_directories(args_.output_dir);
  write_file_atomic(fs::path(args_.output_dir) / "trainer_state.json", state_.to_json_string());
}

void Trainer::save_model(const std::string& dir) {
  fs::create_directories(dir);
  save_safetensors(fs::path(dir) / "model.safetensors", model_->state_dict());
  write_file_atomic(fs::path(dir) / "training_args.json", dump_json(args_.to_json()) + "\n");
}

}  // namespace trainer
