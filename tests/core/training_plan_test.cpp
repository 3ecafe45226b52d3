// The training plan: steps, epochs and samples from the arguments and the data's size alone.

#include "trainer/core/training_plan.h"

#include <gtest/gtest.h>

namespace trainer {
namespace {

TrainingArguments args_with(int64_t batch, int64_t ga, double epochs, int64_t max_steps) {
  TrainingArguments a;
  a.per_device_train_batch_size = batch;
  a.gradient_accumulation_steps = ga;
  a.num_train_epochs = epochs;
  a.max_steps = max_steps;
  return a;
}

TEST(TrainingPlan, EpochsRoundTheLastAccumulationGroupUp) {
  // 5 batches per epoch with accumulation 2: updates after batches 2, 4 and 5.
  const auto plan = plan_training(args_with(8, 2, 2, -1), 40, 5);
  EXPECT_EQ(plan.batches_per_epoch, 5);
  EXPECT_EQ(plan.updates_per_epoch, 3);
  EXPECT_EQ(plan.max_steps, 6);
  EXPECT_EQ(plan.num_train_epochs, 2);
  EXPECT_EQ(plan.num_train_samples, 80);
}

TEST(TrainingPlan, FractionalEpochsTruncateTheLastOne) {
  const auto plan = plan_training(args_with(8, 1, 1.5, -1), 80, 10);
  EXPECT_EQ(plan.max_steps, 15);
  EXPECT_EQ(plan.num_train_epochs, 2);
  EXPECT_EQ(plan.num_train_samples, 120);
}

TEST(TrainingPlan, MaxStepsDecidesTheEpochs) {
  const auto plan = plan_training(args_with(8, 2, 3, 7), 24, 3);
  EXPECT_EQ(plan.updates_per_epoch, 2);
  EXPECT_EQ(plan.max_steps, 7);
  EXPECT_EQ(plan.num_train_epochs, 4);
  EXPECT_EQ(plan.num_train_samples, 7 * 8 * 2);
}

TEST(TrainingPlan, AnEpochWithoutBatchesIsAnArgumentError) {
  try {
    plan_training(args_with(64, 1, 1, -1), 10, 0);
    FAIL() << "no error";
  } catch (const ArgumentError& e) {
    EXPECT_NE(e.command_line_message().find("--per_device_train_batch_size 64"), std::string::npos) << e.what();
  }
}

TEST(TrainingPlan, ResumePositionSkipsTheMicroBatchesOfTheStepsTrained) {
  auto args = args_with(8, 2, 2, -1);
  const auto plan = plan_training(args, 40, 5);  // 3 updates per epoch
  const auto mid = resume_position(args, plan, 4);
  EXPECT_EQ(mid.epoch, 1);
  EXPECT_EQ(mid.micro_batches_to_skip, 2);
  args.ignore_data_skip = true;
  EXPECT_EQ(resume_position(args, plan, 4).micro_batches_to_skip, 0);
}

}  // namespace
}  // namespace trainer
