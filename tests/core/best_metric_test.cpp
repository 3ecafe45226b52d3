#include "trainer/core/best_metric.h"

#include <gtest/gtest.h>

#include "trainer/core/argument_spec.h"
#include "trainer/core/trainer_state.h"
#include "trainer/core/training_arguments.h"

namespace trainer {
namespace {

TrainingArguments args_for(const std::string& metric, std::optional<bool> greater) {
  TrainingArguments a;
  a.metric_for_best_model = metric;
  a.greater_is_better = greater;
  return a;
}

TEST(BestMetric, NothingWithoutAMetricForBestModel) {
  TrainingArguments a;
  TrainerState s;
  EXPECT_FALSE(update_best_metric(a, s, Json{{"eval_loss", 0.5}}));
  EXPECT_FALSE(s.best_metric.has_value());
}

TEST(BestMetric, LowerLossIsBetterAndRecordsItsStep) {
  const auto a = args_for("eval_loss", false);
  TrainerState s;
  s.global_step = 10;
  EXPECT_TRUE(update_best_metric(a, s, Json{{"eval_loss", 0.5}}));
  s.global_step = 20;
  EXPECT_FALSE(update_best_metric(a, s, Json{{"eval_loss", 0.5}}));  // a tie is not an improvement
  s.global_step = 30;
  EXPECT_FALSE(update_best_metric(a, s, Json{{"eval_loss", 0.7}}));
  s.global_step = 40;
  EXPECT_TRUE(update_best_metric(a, s, Json{{"eval_loss", 0.25}}));
  EXPECT_DOUBLE_EQ(*s.best_metric, 0.25);
  EXPECT_EQ(*s.best_global_step, 40);
}

TEST(BestMetric, GreaterIsBetterTakesTheMetricUnderItsEvalName) {
  const auto a = args_for("accuracy", true);
  TrainerState s;
  s.global_step = 5;
  EXPECT_TRUE(update_best_metric(a, s, Json{{"eval_accuracy", 0.6}}));
  s.global_step = 6;
  EXPECT_FALSE(update_best_metric(a, s, Json{{"eval_accuracy", 0.4}}));
  EXPECT_EQ(*s.best_global_step, 5);
}

TEST(BestMetric, AMissingKeyNamesTheFlagAndWhatIsAvailable) {
  const auto a = args_for("bleu", true);
  TrainerState s;
  try {
    update_best_metric(a, s, Json{{"eval_loss", 0.5}, {"eval_accuracy", 0.9}});
    FAIL() << "no error";
  } catch (const ArgumentError& e) {
    const std::string what = e.command_line_message();
    EXPECT_NE(what.find("--metric_for_best_model"), std::string::npos) << what;
    EXPECT_NE(what.find("eval_bleu"), std::string::npos) << what;
    EXPECT_NE(what.find("eval_accuracy"), std::string::npos) << what;
  }
}

}  // namespace
}  // namespace trainer
