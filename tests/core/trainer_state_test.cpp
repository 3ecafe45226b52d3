#include "trainer/core/trainer_state.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "test_support.h"
#include "trainer/core/training_arguments.h"

namespace trainer {
namespace {

std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(TrainerState, PythonWrittenFileLoadsAndIsRewrittenByteForByte) {
  const auto path = testing::golden("trainer_state_python.json");
  auto state = TrainerState::load_from_json(path);
  EXPECT_EQ(state.global_step, 6);
  EXPECT_EQ(state.best_global_step, 4);
  EXPECT_DOUBLE_EQ(*state.best_metric, 0.4127);
  EXPECT_EQ(*state.best_model_checkpoint, "out/checkpoint-4");
  EXPECT_EQ(state.log_history.size(), 4u);
  EXPECT_TRUE(std::isnan(state.log_history[1]["loss"].get<double>()));
  EXPECT_EQ(state.stateful_callbacks["EarlyStoppingCallback"]["attributes"]["early_stopping_patience_counter"], 1);
  EXPECT_EQ(state.to_json_string(), read_file(path));
}

TEST(TrainerState, DefaultsMatchTheOriginal) {
  TrainerState s;
  Json j = s.to_json();
  EXPECT_EQ(j["epoch"].get<double>(), 0.0);
  EXPECT_EQ(j["logging_steps"], 500);
  EXPECT_EQ(j["eval_steps"], 500);
  EXPECT_EQ(j["save_steps"], 500);
  EXPECT_TRUE(j["train_batch_size"].is_null());
  EXPECT_TRUE(j["best_metric"].is_null());
  EXPECT_TRUE(j["trial_params"].is_null());
  EXPECT_EQ(j["stateful_callbacks"], Json::object());
  EXPECT_EQ(j.size(), 20u);
}

TEST(TrainerState, RoundTripsThroughAFile) {
  testing::TempDir dir;
  TrainerState s;
  s.epoch = 1.5;
  s.global_step = 30;
  s.best_metric = 0.25;
  s.log_history.push_back(Json{{"loss", NAN}, {"step", 1}});
  s.unknown_fields["a_future_field"] = Json::array({1, 2});
  s.save_to_json(dir / "trainer_state.json");
  auto back = TrainerState::load_from_json(dir / "trainer_state.json");
  EXPECT_EQ(back.to_json_string(), s.to_json_string());
  EXPECT_EQ(back.unknown_fields["a_future_field"], Json::array({1, 2}));
  const std::string text = read_file(dir / "trainer_state.json");
  EXPECT_EQ(text.back(), '\n');
  EXPECT_NE(text.find("\"loss\": NaN"), std::string::npos);
}

TEST(TrainerState, OldFilesWithNullEpochLoad) {
  auto s = TrainerState::from_json(parse_json(R"({"epoch": null, "global_step": 3, "log_history": []})"));
  EXPECT_EQ(s.epoch, 0.0);
  EXPECT_EQ(s.global_step, 3);
}

TEST(TrainerState, WrongTypesAreClearErrors) {
  EXPECT_THROW(TrainerState::from_json(parse_json(R"({"global_step": "three"})")), std::runtime_error);
  EXPECT_THROW(TrainerState::from_json(parse_json(R"({"log_history": {}})")), std::runtime_error);
  EXPECT_THROW(TrainerState::from_json(parse_json("[1]")), std::runtime_error);
}

TEST(TrainerState, ComputeStepsResolvesRatiosAgainstMaxSteps) {
  TrainingArguments args;
  args.logging_steps = 0.1;
  args.eval_steps = 0.2;
  args.save_steps = 0.5;
  TrainerState s;
  s.compute_steps(args, 100);
  EXPECT_EQ(s.logging_steps, 10);
  EXPECT_EQ(s.eval_steps, 20);
  EXPECT_EQ(s.save_steps, 50);
  args.logging_steps = 0.15;
  s.compute_steps(args, 7);
  EXPECT_EQ(s.logging_steps, 2);  // ceil(1.05)
  args.eval_steps.reset();
  TrainerState fresh;
  fresh.compute_steps(args, 100);
  EXPECT_EQ(fresh.eval_steps, 500);
}

}  // namespace
}  // namespace trainer
