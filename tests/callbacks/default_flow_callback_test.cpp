#include "trainer/callbacks/default_flow_callback.h"

#include <gtest/gtest.h>

#include "trainer/core/trainer_control.h"
#include "trainer/core/trainer_state.h"
#include "trainer/core/training_arguments.h"

namespace trainer {
namespace {

struct Flow {
  TrainingArguments args;
  TrainerState state;
  TrainerControl control;
  CallbackContext ctx;
  DefaultFlowCallback flow;
  TrainerControl step_end(int64_t step) {
    control = TrainerControl{};
    state.global_step = step;
    flow.on_step_end(args, state, control, ctx);
    return control;
  }
};

TEST(DefaultFlowCallback, StepStrategies) {
  Flow f;
  f.args.eval_strategy = IntervalStrategy::steps;
  f.state.max_steps = 10;
  f.state.logging_steps = 2;
  f.state.eval_steps = 3;
  f.state.save_steps = 4;
  EXPECT_EQ(f.step_end(1), (TrainerControl{}));
  auto c = f.step_end(2);
  EXPECT_TRUE(c.should_log && !c.should_evaluate && !c.should_save);
  c = f.step_end(3);
  EXPECT_TRUE(!c.should_log && c.should_evaluate && !c.should_save);
  c = f.step_end(4);
  EXPECT_TRUE(c.should_log && !c.should_evaluate && c.should_save);
  c = f.step_end(12);
  EXPECT_TRUE(c.should_training_stop && c.should_save && c.should_log && c.should_evaluate);
}

TEST(DefaultFlowCallback, FinalStepForcesSaveAndOneEvaluation) {
  Flow f;
  f.args.eval_strategy = IntervalStrategy::steps;
  f.state.max_steps = 7;
  f.state.eval_steps = 3;
  f.state.save_steps = 5;
  f.state.logging_steps = 100;
  auto c = f.step_end(7);
  EXPECT_TRUE(c.should_training_stop);
  EXPECT_TRUE(c.should_save);
  EXPECT_TRUE(c.should_evaluate);  // 7 is not a multiple of 3: the newest rule adds a final evaluation
  EXPECT_FALSE(c.should_log);      // there is no forced log
  f.state.max_steps = 6;
  c = f.step_end(6);
  EXPECT_TRUE(c.should_evaluate);
  f.args.eval_delay = 8;
  c = f.step_end(7);
  f.state.max_steps = 7;
  c = f.step_end(7);
  EXPECT_FALSE(c.should_evaluate);  // still inside eval_delay
}

TEST(DefaultFlowCallback, FinalSaveOnlyForTheStepsStrategy) {
  Flow f;
  f.state.max_steps = 3;
  f.args.save_strategy = SaveStrategy::epoch;
  EXPECT_FALSE(f.step_end(3).should_save);
  f.args.save_strategy = SaveStrategy::no;
  EXPECT_FALSE(f.step_end(3).should_save);
  f.args.save_strategy = SaveStrategy::best;
  EXPECT_FALSE(f.step_end(3).should_save);
}

TEST(DefaultFlowCallback, LoggingFirstStepEvenWithStrategyNo) {
  Flow f;
  f.args.logging_strategy = IntervalStrategy::no;
  f.args.logging_first_step = true;
  f.state.max_steps = 10;
  EXPECT_TRUE(f.step_end(1).should_log);
  EXPECT_FALSE(f.step_end(2).should_log);
}

TEST(DefaultFlowCallback, EvalDelayInSteps) {
  Flow f;
  f.args.eval_strategy = IntervalStrategy::steps;
  f.args.eval_delay = 5;
  f.state.eval_steps = 2;
  f.state.max_steps = 100;
  EXPECT_FALSE(f.step_end(4).should_evaluate);
  EXPECT_TRUE(f.step_end(6).should_evaluate);
}

TEST(DefaultFlowCallback, EpochStrategies) {
  Flow f;
  f.args.logging_strategy = IntervalStrategy::epoch;
  f.args.eval_strategy = IntervalStrategy::epoch;
  f.args.save_strategy = SaveStrategy::epoch;
  f.args.eval_delay = 2;
  f.state.epoch = 1.0;
  f.flow.on_epoch_end(f.args, f.state, f.control, f.ctx);
  EXPECT_TRUE(f.control.should_log && f.control.should_save && !f.control.should_evaluate);
  f.state.epoch = 2.0;
  f.flow.on_epoch_end(f.args, f.state, f.control, f.ctx);
  EXPECT_TRUE(f.control.should_evaluate);
  // Step strategies do nothing at epoch end.
  Flow g;
  g.flow.on_epoch_end(g.args, g.state, g.control, g.ctx);
  EXPECT_EQ(g.control, TrainerControl{});
}

}  // namespace
}  // namespace trainer
