#include "trainer/torch/trainer.h"

#include <cmath>

#include <torch/torch.h>

#include "trainer/core/speed_metrics.h"
#include "trainer/torch/distributed/data_parallel.h"

// The Trainer's evaluation and prediction, and the best-metric bookkeeping of evaluations during training.

namespace trainer {

using Clock = std::chrono::steady_clock;

Json compute_accuracy(const EvalPrediction& p) {
  if (!p.predictions.defined() || p.predictions.size(0) == 0) return Json{{"accuracy", 0.0}};
  auto correct = p.predictions.argmax(-1).eq(p.label_ids).sum().item<int64_t>();
  return Json{{"accuracy", static_cast<double>(correct) / static_cast<double>(p.label_ids.size(0))}};
}

Json Trainer::evaluation_loop(TensorDataLoader& loader, const std::string& prefix, bool loss_only,
                              torch::Tensor* predictions, torch::Tensor* labels) {
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
  const int64_t total = loader.num_examples();
  parallel_->combine_evaluation_shards(loss_sum, all_logits, all_labels, collect, total);
  if (collect && !all_logits.empty()) {
    EvalPrediction p{torch::cat(all_logits).to(torch::kCPU), torch::cat(all_labels).to(torch::kCPU)};
    if (compute_metrics_) metrics = compute_metrics_(p);
    if (predictions) *predictions = p.predictions;
    if (labels) *labels = p.label_ids;
  }
  const auto n = static_cast<double>(total);
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
  if (!dataset)
    throw std::invalid_argument(
        "Trainer::evaluate: no evaluation dataset (pass one, or give eval_dataset to the Trainer)");
  eval_loader_ = get_eval_dataloader(dataset);
  const auto start = Clock::now();
  Json metrics = evaluation_loop(*eval_loader_, prefix, args_.prediction_loss_only, nullptr, nullptr);
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
  PredictionOutput out;
  out.metrics = evaluation_loop(*eval_loader_, prefix, args_.prediction_loss_only, &out.predictions, &out.label_ids);
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
  const bool new_best = determine_best_metric(metrics);
  if (args_.save_strategy == SaveStrategy::best) control_.should_save = new_best;
}

bool Trainer::determine_best_metric(const Json& metrics) {
  if (!args_.metric_for_best_model) return false;
  const std::string key = args_.best_metric_key();
  if (!metrics.contains(key) || !metrics[key].is_number()) {
    std::string keys;
    for (auto it = metrics.begin(); it != metrics.end(); ++it) keys += (keys.empty() ? "" : ", ") + it.key();
    throw ArgumentError("--metric_for_best_model: the evaluation metrics have no key '" + key +
                        "' (available: " + keys + "); choose one of them");
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

}  // namespace trainer
