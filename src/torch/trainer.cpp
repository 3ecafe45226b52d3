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
  handler_.context().model_description = model_->describe();
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
  if (!problem.empty()) {
    // Fall back to the newest good checkpoint beside it rather than fail on a damaged one.
    auto fallback = latest_valid_checkpoint(fs::path(*r).parent_path());
    if (!fallback)
      throw ArgumentError("--resume_from_checkpoint: " + *r + " cannot be resumed from (" + problem +
                          ") and there is no other complete checkpoint beside it");
    log_warning("--resume_from_checkpoint: " + *r + " cannot be resumed from (" + problem + "); resuming from " +
                fallback->string() + " instead");
    return fallback;
  }
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

TrainOutput Trainer::train(std::optional<std::string> resume_from_checkpoint) {
  if (!train_dataset_) throw std::invalid_argument("Trainer::train: no training dataset was given");
  train_loader_ = get_train_dataloader();
  const int64_t len_dl = train_loader_->num_batches();
  if (len_dl == 0)
    throw ArgumentError("the training dataset (" + std::to_string(train_dataset_->size()) +
                        " examples) yields no batch of --per_device_train_batch_size " + std::to_string(args_.train_batch_size()) +
                        " with --dataloader_drop_last");
  const int64_t ga = args_.gradient_accumulation_steps;
  const int64_t total_train_batch_size = args_.train_batch_size() * ga * process_.world_size;
  const int64_t updates_per_epoch = std::max<int64_t>((len_dl + ga - 1) / ga, 1);
  int64_t max_steps, num_train_epochs;
  double num_train_samples;
  if (args_.max_steps > 0) {
    max_steps = args_.max_steps;
    num_train_epochs = (max_steps + updates_per_epoch - 1) / updates_per_epoch;
    num_train_samples = static_cast<double>(max_steps * total_train_batch_size);
  } else {
    max_steps = static_cast<int64_t>(std::ceil(args_.num_train_epochs * static_cast<double>(updates_per_epoch)));
    num_train_epochs = static_cast<int64_t>(std::ceil(args_.num_train_epochs));
    num_train_samples = static_cast<double>(train_dataset_->size()) * args_.num_train_epochs;
  }

  const auto resume_dir = resolve_resume_dir(resume_from_checkpoint);
  if (resume_dir) {
    log_info("Resuming from " + resume_dir->string());
    model_->load_state_dict(load_safetensors(*resume_dir / "model.safetensors"));
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
    TrainerState saved = TrainerState::load_from_json(*resume_dir / "trainer_state.json");
    if (saved.logging_steps != state_.logging_steps || saved.eval_steps != state_.eval_steps || saved.save_steps != state_.save_steps)
      log_warning("The checkpoint's logging/eval/save intervals differ from the current arguments; the checkpoint's are used");
    if (saved.train_batch_size && *saved.train_batch_size != args_.train_batch_size())
      log_warning("--per_device_train_batch_size differs from the checkpoint's; the data position cannot be restored exactly");
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
    if (fs::exists(*resume_dir / "loop_state.json")) {
      // The loss accumulated since the last log, so the next log and train_loss match an
      // uninterrupted run.
      const Json ls = read_json_file(*resume_dir / "loop_state.json");
      loop.tr_loss.fill_(ls.at("tr_loss").get<double>());
      loop.nonfinite.fill_(ls.at("nonfinite").get<double>());
      loop.total_loss_scalar = ls.at("total_loss_scalar").get<double>();
      loop.last_logged_step = ls.at("last_logged_step").get<int64_t>();
      loop.micro_batches_since_log = ls.at("micro_batches_since_log").get<int64_t>();
      current_flos_ = ls.at("current_flos").get<double>();
      if (!ls.at("grad_norm").is_null()) loop.grad_norm = torch::full({}, ls.at("grad_norm").get<double>(), float_opts);
      if (!ls.at("learning_rate").is_null()) loop.learning_rate = ls.at("learning_rate").get<double>();
    }
    epochs_trained = state_.global_step / updates_per_epoch;
    micro_batches_to_skip = args_.ignore_data_skip ? 0 : (state_.global_step % updates_per_epoch) * ga;
  }
  zero_grad();

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
    } else {
      log_warning("Could not locate the best model at " + weights.string() + ", if you are running distributed training on multiple nodes, you should activate `--save_on_each_node`.");
    }
  }

  // The unlogged remainder joins the total (one read at the end of training).
  auto rest = torch::stack({loop.tr_loss, loop.nonfinite}).to(torch::kCPU);
  ++host_reads_;
  loop.total_loss_scalar += rest[0].item<double>();
  if (!args_.logging_nan_inf_filter && rest[1].item<double>() > 0 && !std::isfinite(loop.total_loss_scalar))
    throw TrainingDivergedError("the training loss became NaN or infinite before step " + std::to_string(state_.global_step) +
                                "; lower --learning_rate, keep --max_grad_norm > 0, or check the data for NaN values");
  const double train_loss = loop.total_loss_scalar / std::max<double>(static_cast<double>(state_.global_step), 0.001);
  Json metrics = speed_metrics("train", start_time, num_train_samples, static_cast<double>(max_steps));
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
  return TrainOutput{state_.global_step, train_loss, metrics};
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
    if (nonfinite > 0) {
      const std::string where = std::to_string(nonfinite) + " of the last " + std::to_string(micro) +
                                " micro-batch losses before step " + std::to_string(state_.global_step) + " were NaN or infinite";
      if (!args_.logging_nan_inf_filter || nonfinite == micro)
        throw TrainingDivergedError("training diverged: " + where +
                                    "; lower --learning_rate, keep --max_grad_norm > 0, or check the data for NaN values");
      log_warning(where + "; they were left out of the logged loss (--logging_nan_inf_filter)");
    }
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
    Json ls = Json::object();
    ls["tr_loss"] = host[0].item<double>();
    ls["nonfinite"] = host[1].item<double>();
    ls["total_loss_scalar"] = loop.total_loss_scalar;
    ls["last_logged_step"] = loop.last_logged_step;
    ls["micro_batches_since_log"] = loop.micro_batches_since_log;
    ls["current_flos"] = current_flos_;
    ls["grad_norm"] = loop.grad_norm.defined() ? Json(host[2].item<double>()) : Json(nullptr);
    ls["learning_rate"] = loop.learning_rate ? Json(*loop.learning_rate) : Json(nullptr);
    files.emplace_back("loop_state.json", contents(dump_json(ls) + "\n"));
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
  return metrics;
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
