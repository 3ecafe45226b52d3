#include "trainer/torch/evaluation_loop.h"

#include <utility>
#include <vector>

#include <torch/torch.h>

#include "trainer/torch/distributed/data_parallel.h"
#include "trainer/torch/model.h"

namespace trainer {

Json compute_accuracy(const EvalPrediction& p) {
  if (!p.predictions.defined() || p.predictions.size(0) == 0) return Json{{"accuracy", 0.0}};
  auto correct = p.predictions.argmax(-1).eq(p.label_ids).sum().item<int64_t>();
  return Json{{"accuracy", static_cast<double>(correct) / static_cast<double>(p.label_ids.size(0))}};
}

EvaluationLoop::EvaluationLoop(Model& model, DataParallelStrategy& parallel, torch::Device device,
                               EvaluationHooks hooks)
    : model_(model), parallel_(parallel), device_(device), hooks_(std::move(hooks)) {}

EvaluationResult EvaluationLoop::run(TensorDataLoader& loader, const std::string& prefix, bool loss_only,
                                     bool keep_predictions, const ComputeMetrics& compute_metrics,
                                     std::optional<double> model_preparation_time) {
  const bool collect = !loss_only && (compute_metrics || keep_predictions);
  model_.eval();
  torch::NoGradGuard no_grad;
  // Summed on the device; read once at the end.
  auto loss_sum = torch::zeros({}, torch::TensorOptions().dtype(torch::kDouble).device(device_));
  std::vector<torch::Tensor> all_logits, all_labels;
  for (int64_t i = 0; i < loader.num_batches(); ++i) {
    Batch batch = loader.batch(i);
    auto out = hooks_.prediction_step(batch, !collect);
    loss_sum.add_(out.loss.to(torch::kDouble) * static_cast<double>(batch.size()));
    if (collect) {
      all_logits.push_back(out.logits);
      all_labels.push_back(batch.labels);
    }
    hooks_.on_prediction_step();
  }
  model_.train();
  EvaluationResult result;
  result.metrics = Json::object();
  const int64_t total = loader.num_examples();
  parallel_.combine_evaluation_shards(loss_sum, all_logits, all_labels, collect, total);
  if (collect && !all_logits.empty()) {
    EvalPrediction p{torch::cat(all_logits).to(torch::kCPU), torch::cat(all_labels).to(torch::kCPU)};
    if (compute_metrics) result.metrics = compute_metrics(p);
    if (keep_predictions) {
      result.predictions = p.predictions;
      result.label_ids = p.label_ids;
    }
  }
  if (total > 0) result.metrics[prefix + "_loss"] = hooks_.read_scalar(loss_sum) / static_cast<double>(total);
  if (model_preparation_time) result.metrics[prefix + "_model_preparation_time"] = *model_preparation_time;
  prefix_metric_keys(result.metrics, prefix);
  return result;
}

void prefix_metric_keys(Json& metrics, const std::string& prefix) {
  std::vector<std::string> keys;
  for (auto it = metrics.begin(); it != metrics.end(); ++it) keys.push_back(it.key());
  for (const auto& k : keys) {
    if (k.rfind(prefix + "_", 0) == 0) continue;
    Json v = metrics[k];
    metrics.erase(k);
    metrics[prefix + "_" + k] = v;
  }
}

}  // namespace trainer
