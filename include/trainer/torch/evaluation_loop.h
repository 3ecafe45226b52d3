#pragma once
// The evaluation loop of the original (evaluate and predict share it): the model over every batch
// of a loader without gradients, the mean loss, the logits and labels where metrics or predictions
// need them, compute_metrics, and every key under the split's prefix ("eval_loss", ...). In a
// data-parallel job each rank evaluates its shard and the strategy combines them.
//
// It calls back into the Trainer for what users may override or observe (EvaluationHooks): the
// prediction step (Trainer::prediction_step, virtual) and on_prediction_step after each batch.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include <torch/types.h>

#include "trainer/core/json.h"
#include "trainer/torch/data_loader.h"

namespace trainer {

class DataParallelStrategy;
class Model;

// What compute_metrics receives: the logits of every evaluated example and their labels (on CPU).
struct EvalPrediction {
  torch::Tensor predictions;
  torch::Tensor label_ids;
};
using ComputeMetrics = std::function<Json(const EvalPrediction&)>;

// {"accuracy": fraction of argmax(predictions) == label_ids}.
Json compute_accuracy(const EvalPrediction& prediction);

// One evaluation batch: its mean loss and, unless prediction_loss_only, its logits.
struct PredictionStepOutput {
  torch::Tensor loss;
  torch::Tensor logits;
};

struct EvaluationHooks {
  std::function<PredictionStepOutput(const Batch& batch, bool loss_only)> prediction_step;
  std::function<void()> on_prediction_step;
  // The one device-to-host read of a run (the summed loss), counted by the Trainer.
  std::function<double(const torch::Tensor&)> read_scalar;
};

struct EvaluationResult {
  Json metrics;               // prefixed; without the speed metrics (the caller times the whole call)
  torch::Tensor predictions;  // with keep_predictions and not loss_only: every example's logits (CPU)
  torch::Tensor label_ids;
};

class EvaluationLoop {
 public:
  // `model` and `parallel` must outlive the loop.
  EvaluationLoop(Model& model, DataParallelStrategy& parallel, torch::Device device, EvaluationHooks hooks);

  // `model_preparation_time`: the original's "<prefix>_model_preparation_time", reported by a
  // Trainer that evaluated before it trained.
  EvaluationResult run(TensorDataLoader& loader, const std::string& prefix, bool loss_only, bool keep_predictions,
                       const ComputeMetrics& compute_metrics,
                       std::optional<double> model_preparation_time = std::nullopt);

 private:
  Model& model_;
  DataParallelStrategy& parallel_;
  torch::Device device_;
  EvaluationHooks hooks_;
};

// Puts every key under "<prefix>_", moving renamed keys to the end as the original does.
void prefix_metric_keys(Json& metrics, const std::string& prefix);

}  // namespace trainer
