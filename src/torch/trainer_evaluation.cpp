#include "trainer/torch/trainer.h"

#include <cmath>

#include <torch/torch.h>

#include "trainer/core/best_metric.h"
#include "trainer/core/speed_metrics.h"
#include "trainer/torch/evaluation_loop.h"

// The Trainer's evaluate() and predict() around the evaluation loop (evaluation_loop.h), and what an
// evaluation during training decides.

namespace trainer {

using Clock = std::chrono::steady_clock;

EvaluationResult Trainer::run_evaluation_loop(const std::string& prefix, bool keep_predictions) {
  handler_.context().eval_dataloader = eval_loader_.get();
  EvaluationHooks hooks;
  hooks.prediction_step = [this](const Batch& batch, bool loss_only) {
    return prediction_step(*model_, batch, loss_only);
  };
  hooks.on_prediction_step = [this] { handler_.on_prediction_step(args_, state_, control_); };
  hooks.read_scalar = [this](const torch::Tensor& t) { return read_scalar(t); };
  EvaluationLoop loop(*model_, *parallel_, device_, std::move(hooks));
  // The original reports the model's preparation (here: its placement on the device) in every
  // evaluation of a Trainer whose first evaluation came before any training.
  if (!trained_ && !model_preparation_time_) model_preparation_time_ = model_placement_seconds_;
  return loop.run(*eval_loader_, prefix, args_.prediction_loss_only, keep_predictions, compute_metrics_,
                  model_preparation_time_);
}

Json Trainer::evaluate(std::shared_ptr<const TensorDataset> dataset, const std::string& prefix) {
  if (!dataset) dataset = eval_dataset_;
  if (!dataset)
    throw std::invalid_argument(
        "Trainer::evaluate: no evaluation dataset (pass one, or give eval_dataset to the Trainer)");
  eval_loader_ = get_eval_dataloader(dataset);
  const auto start = Clock::now();
  Json metrics = run_evaluation_loop(prefix, /*keep_predictions=*/false).metrics;
  metrics.update(evaluation_speed_metrics(prefix, start));
  log(metrics);
  handler_.on_evaluate(args_, state_, control_, metrics);
  last_evaluation_ = EvaluationRecord{metrics, dataset.get(), weights_version_};
  return metrics;
}

// The original's speed metrics of an evaluation or prediction over eval_loader_, started at `start`.
Json Trainer::evaluation_speed_metrics(const std::string& prefix, std::chrono::steady_clock::time_point start) const {
  const double n = static_cast<double>(eval_loader_->num_examples());
  const double steps = std::ceil(n / static_cast<double>(args_.eval_batch_size() * process_.world_size));
  return speed_metrics(prefix, start, n, steps);
}

std::optional<Json> Trainer::evaluation_of_current_weights(std::shared_ptr<const TensorDataset> dataset) const {
  if (!dataset) dataset = eval_dataset_;
  if (!last_evaluation_ || last_evaluation_->dataset != dataset.get() ||
      last_evaluation_->weights_version != weights_version_)
    return std::nullopt;
  return last_evaluation_->metrics;
}

PredictionOutput Trainer::predict(std::shared_ptr<const TensorDataset> dataset, const std::string& prefix) {
  if (!dataset) throw std::invalid_argument("Trainer::predict: no dataset");
  eval_loader_ = get_eval_dataloader(dataset);
  const auto start = Clock::now();
  EvaluationResult result = run_evaluation_loop(prefix, /*keep_predictions=*/true);
  PredictionOutput out{result.predictions, result.label_ids, std::move(result.metrics)};
  out.metrics.update(evaluation_speed_metrics(prefix, start));
  handler_.on_predict(args_, state_, control_, out.metrics);
  return out;
}

void Trainer::evaluate_during_training() {
  Json metrics = evaluate();
  if (lr_scheduler_->is_metric_driven()) {
    const std::string key = args_.best_metric_key();
    if (!metrics.contains(key) || !metrics[key].is_number())
      throw ArgumentError("--lr_scheduler_type reduce_lr_on_plateau: the metric " + key +
                          " is not in the evaluation metrics");
    lr_scheduler_->step_with_metric(metrics[key].get<double>());
  }
  const bool new_best = update_best_metric(args_, state_, metrics);
  if (args_.save_strategy == SaveStrategy::best) control_.should_save = new_best;
}

}  // namespace trainer
