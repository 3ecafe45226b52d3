#include "trainer/torch/evaluation_loop.h"

#include <gtest/gtest.h>

#include <torch/torch.h>

#include "torch_test_support.h"
#include "trainer/core/process_info.h"
#include "trainer/torch/distributed/data_parallel.h"
#include "trainer/torch/models.h"

namespace trainer {
namespace {

// The loop over 70 examples in batches of 32 (a last partial batch), on one process.
struct EvaluationFixture : ::testing::Test {
  std::shared_ptr<TensorDataset> data = testing::blobs(70, 3);
  std::shared_ptr<Model> model = make_builtin_model("mlp", 6, 3);
  TrainingArguments args = testing::quiet_args("unused");
  ProcessInfo process;
  std::unique_ptr<DataParallelStrategy> parallel =
      DataParallelStrategy::create(process, args, *model, torch::Device(torch::kCPU));
  int prediction_steps = 0;
  int host_reads = 0;

  EvaluationLoop make_loop() {
    EvaluationHooks hooks;
    hooks.prediction_step = [this](const Batch& batch, bool loss_only) {
      auto logits = model->forward(batch.inputs);
      PredictionStepOutput out{torch::nn::functional::cross_entropy(logits, batch.labels), torch::Tensor()};
      if (!loss_only) out.logits = logits;
      return out;
    };
    hooks.on_prediction_step = [this] { ++prediction_steps; };
    hooks.read_scalar = [this](const torch::Tensor& t) {
      ++host_reads;
      return t.item<double>();
    };
    return EvaluationLoop(*model, *parallel, torch::kCPU, std::move(hooks));
  }
  TensorDataLoader loader() {
    TensorDataLoader::Options o;
    o.batch_size = 32;
    return TensorDataLoader(data, o);
  }
};

TEST_F(EvaluationFixture, TheLossIsTheMeanOverExamplesReadOnce) {
  auto l = loader();
  const auto result = make_loop().run(l, "eval", /*loss_only=*/true, /*keep_predictions=*/false, nullptr);
  torch::NoGradGuard no_grad;
  const double expected =
      torch::nn::functional::cross_entropy(model->forward(data->inputs), data->labels).item<double>();
  EXPECT_NEAR(result.metrics["eval_loss"].get<double>(), expected, 1e-6);
  EXPECT_EQ(prediction_steps, 3);  // 32 + 32 + 6
  EXPECT_EQ(host_reads, 1);
  EXPECT_FALSE(result.predictions.defined());
}

TEST_F(EvaluationFixture, MetricsArePrefixedAndFollowTheLoss) {
  auto l = loader();
  const auto result = make_loop().run(l, "test", false, true, compute_accuracy);
  std::vector<std::string> keys;
  for (auto it = result.metrics.begin(); it != result.metrics.end(); ++it) keys.push_back(it.key());
  EXPECT_EQ(keys, (std::vector<std::string>{"test_loss", "test_accuracy"}));
  ASSERT_TRUE(result.predictions.defined());
  EXPECT_EQ(result.predictions.size(0), 70);
  EXPECT_TRUE(result.label_ids.equal(data->labels));
  const auto accuracy = compute_accuracy(EvalPrediction{result.predictions, result.label_ids});
  EXPECT_DOUBLE_EQ(result.metrics["test_accuracy"].get<double>(), accuracy["accuracy"].get<double>());
}

TEST_F(EvaluationFixture, LossOnlyCollectsNoLogitsEvenForMetrics) {
  auto l = loader();
  bool metrics_called = false;
  const auto result = make_loop().run(l, "eval", true, true, [&](const EvalPrediction&) {
    metrics_called = true;
    return Json::object();
  });
  EXPECT_FALSE(metrics_called);
  EXPECT_FALSE(result.predictions.defined());
  EXPECT_TRUE(result.metrics.contains("eval_loss"));
}

TEST(PrefixMetricKeys, KeysAlreadyPrefixedStayInPlace) {
  Json m = Json::object();
  m["eval_loss"] = 1.0;
  m["f1"] = 0.5;
  m["eval_accuracy"] = 0.25;
  prefix_metric_keys(m, "eval");
  std::vector<std::string> keys;
  for (auto it = m.begin(); it != m.end(); ++it) keys.push_back(it.key());
  EXPECT_EQ(keys, (std::vector<std::string>{"eval_loss", "eval_accuracy", "eval_f1"}));
}

}  // namespace
}  // namespace trainer
