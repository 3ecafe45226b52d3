#include "trainer/callbacks/early_stopping_callback.h"

#include <gtest/gtest.h>

#include "test_support.h"

#include "trainer/core/trainer_control.h"
#include "trainer/core/trainer_state.h"
#include "trainer/core/training_arguments.h"

namespace trainer {
namespace {

struct EvalRun {
  TrainingArguments args;
  TrainerState state;
  TrainerControl control;
  CallbackContext ctx;
  EvalRun(const std::string& metric, bool greater) {
    args.metric_for_best_model = metric;
    args.greater_is_better = greater;
    args.eval_strategy = IntervalStrategy::steps;
  }
  // One evaluation as the Trainer does it: on_evaluate first, then the best-metric update.
  void evaluate(EarlyStoppingCallback& cb, double value) {
    Json metrics = Json{{"eval_" + *args.metric_for_best_model, value}};
    ctx.metrics = &metrics;
    cb.on_evaluate(args, state, control, ctx);
    const bool greater = *args.greater_is_better;
    if (!state.best_metric || (greater ? value > *state.best_metric : value < *state.best_metric))
      state.best_metric = value;
  }
};

TEST(EarlyStoppingCallback, SaysInOneLineWhyTrainingStopped) {
  EvalRun r("accuracy", true);
  r.state.global_step = 1420;
  r.state.max_steps = 3000;
  EarlyStoppingCallback cb(2);
  testing::CapturedLogs logs;
  for (double v : {0.8, 0.79, 0.78, 0.77}) r.evaluate(cb, v);
  EXPECT_TRUE(r.control.should_training_stop);
  int lines = 0;
  for (const auto& m : logs.messages) lines += m.rfind("Early stopping:", 0) == 0;
  EXPECT_EQ(lines, 1) << "said once, when it stops";
  EXPECT_TRUE(
      logs.contains("Early stopping: eval_accuracy did not improve by more than 0.0 for 2 evaluations (best 0.8); "
                    "stopping at step 1420 of 3000"));
}

TEST(EarlyStoppingCallback, StopsAfterPatienceEvaluationsWithoutImprovement) {
  EvalRun r("loss", false);
  EarlyStoppingCallback cb(2);
  r.evaluate(cb, 1.0);
  EXPECT_EQ(cb.patience_counter(), 0);
  r.evaluate(cb, 0.8);
  EXPECT_EQ(cb.patience_counter(), 0);
  r.evaluate(cb, 0.9);
  EXPECT_EQ(cb.patience_counter(), 1);
  EXPECT_FALSE(r.control.should_training_stop);
  r.evaluate(cb, 0.8);  // equal is not better
  EXPECT_EQ(cb.patience_counter(), 2);
  EXPECT_TRUE(r.control.should_training_stop);
}

TEST(EarlyStoppingCallback, ThresholdAndGreaterIsBetter) {
  EvalRun r("accuracy", true);
  EarlyStoppingCallback cb(3, 0.05);
  r.evaluate(cb, 0.5);
  r.evaluate(cb, 0.52);  // better, but not by more than the threshold
  EXPECT_EQ(cb.patience_counter(), 1);
  r.evaluate(cb, 0.6);
  EXPECT_EQ(cb.patience_counter(), 0);
}

TEST(EarlyStoppingCallback, MissingMetricWarnsAndKeepsTheCounter) {
  testing::CapturedLogs logs;
  EvalRun r("accuracy", true);
  EarlyStoppingCallback cb(1);
  Json metrics = Json{{"eval_loss", 1.0}};
  r.ctx.metrics = &metrics;
  cb.on_evaluate(r.args, r.state, r.control, r.ctx);
  EXPECT_TRUE(logs.contains("did not find eval_accuracy"));
  EXPECT_FALSE(r.control.should_training_stop);
}

TEST(EarlyStoppingCallback, ChecksAreClearErrors) {
  testing::CapturedLogs logs;
  EarlyStoppingCallback cb;
  TrainingArguments args;
  TrainerState s;
  TrainerControl c;
  CallbackContext ctx;
  try {
    cb.on_train_begin(args, s, c, ctx);
    FAIL();
  } catch (const std::invalid_argument& e) {
    // The C++ API names the field; the program names the flag.
    EXPECT_NE(std::string(e.what()).find("args.metric_for_best_model"), std::string::npos) << e.what();
    EXPECT_NE(dynamic_cast<const ArgumentError&>(e).command_line_message().find("--metric_for_best_model"),
              std::string::npos);
  }
  args.metric_for_best_model = "loss";
  EXPECT_THROW(cb.on_train_begin(args, s, c, ctx), std::invalid_argument);
  args.eval_strategy = IntervalStrategy::epoch;
  EXPECT_NO_THROW(cb.on_train_begin(args, s, c, ctx));
  EXPECT_TRUE(logs.contains("--load_best_model_at_end"));
  EXPECT_THROW(EarlyStoppingCallback(0), std::invalid_argument);
}

TEST(EarlyStoppingCallback, StateRoundTrips) {
  EvalRun r("loss", false);
  EarlyStoppingCallback cb(3, 0.01);
  r.evaluate(cb, 1.0);
  r.evaluate(cb, 1.5);
  Json st = cb.state();
  EXPECT_EQ(st["args"]["early_stopping_patience"], 3);
  EXPECT_EQ(st["attributes"]["early_stopping_patience_counter"], 1);
  EarlyStoppingCallback restored;
  restored.load_state(st);
  EXPECT_EQ(restored.patience(), 3);
  EXPECT_EQ(restored.threshold(), 0.01);
  EXPECT_EQ(restored.patience_counter(), 1);
}

}  // namespace
}  // namespace trainer
