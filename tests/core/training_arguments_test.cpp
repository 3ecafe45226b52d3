#include "trainer/core/training_arguments.h"

#include <gtest/gtest.h>

#include "test_support.h"

namespace trainer {
namespace {

std::string error_of(TrainingArguments a) {
  try {
    a.finalize();
  } catch (const ArgumentError& e) {
    return e.what();
  }
  return "";
}

TEST(TrainingArguments, DefaultsAreTheOriginals) {
  TrainingArguments a;
  EXPECT_EQ(a.output_dir, "trainer_output");
  EXPECT_EQ(a.per_device_train_batch_size, 8);
  EXPECT_EQ(a.num_train_epochs, 3.0);
  EXPECT_EQ(a.max_steps, -1);
  EXPECT_EQ(a.learning_rate, 5e-5);
  EXPECT_EQ(a.lr_scheduler_type, SchedulerType::linear);
  EXPECT_EQ(a.max_grad_norm, 1.0);
  EXPECT_EQ(a.logging_steps, 500);
  EXPECT_EQ(a.save_strategy, SaveStrategy::steps);
  EXPECT_EQ(a.eval_strategy, IntervalStrategy::no);
  EXPECT_EQ(a.seed, 42);
  EXPECT_EQ(a.report_to, std::vector<std::string>{"none"});
  EXPECT_EQ(a.adam_beta2, 0.999);
  EXPECT_TRUE(a.logging_nan_inf_filter);
}

TEST(TrainingArguments, DerivesMetricAndDirection) {
  TrainingArguments a;
  a.eval_strategy = IntervalStrategy::steps;
  a.load_best_model_at_end = true;
  a.eval_steps = 100;
  a.save_steps = 200;
  a.finalize();
  EXPECT_EQ(a.metric_for_best_model, "loss");
  EXPECT_EQ(a.greater_is_better, false);

  TrainingArguments b;
  b.metric_for_best_model = "accuracy";
  b.finalize();
  EXPECT_EQ(b.greater_is_better, true);
}

TEST(TrainingArguments, EvalStepsDefaultToLoggingSteps) {
  TrainingArguments a;
  a.eval_strategy = IntervalStrategy::steps;
  a.logging_steps = 25;
  a.finalize();
  EXPECT_EQ(a.eval_steps, 25.0);
}

TEST(TrainingArguments, WarmupRatioIsCopiedIntoWarmupSteps) {
  testing::CapturedLogs logs;
  TrainingArguments a;
  a.warmup_ratio = 0.1;
  a.finalize();
  EXPECT_EQ(a.warmup_steps, 0.1);
  EXPECT_TRUE(logs.contains("deprecated"));
  EXPECT_EQ(num_warmup_steps(a, 95), 10);
  a.warmup_steps = 7;
  EXPECT_EQ(num_warmup_steps(a, 95), 7);
}

TEST(TrainingArguments, ValidationErrorsNameTheFlag) {
  TrainingArguments a;
  a.bf16 = a.fp16 = true;
  EXPECT_NE(error_of(a).find("args.bf16 and args.fp16"), std::string::npos);

  TrainingArguments b;
  b.logging_steps = 0;
  EXPECT_NE(error_of(b).find("args.logging_steps"), std::string::npos);

  TrainingArguments c;
  c.save_steps = 12.5;
  EXPECT_NE(error_of(c).find("args.save_steps"), std::string::npos);

  TrainingArguments d;
  d.load_best_model_at_end = true;
  d.eval_strategy = IntervalStrategy::epoch;
  EXPECT_NE(error_of(d).find("args.save_strategy equal to args.eval_strategy"), std::string::npos);

  TrainingArguments e;
  e.load_best_model_at_end = true;
  e.eval_strategy = IntervalStrategy::steps;
  e.eval_steps = 30;
  e.save_steps = 50;
  EXPECT_NE(error_of(e).find("multiple of args.eval_steps"), std::string::npos);

  TrainingArguments f;
  f.load_best_model_at_end = true;
  f.eval_strategy = IntervalStrategy::steps;
  f.eval_steps = 0.1;
  f.save_steps = 50;
  EXPECT_NE(error_of(f).find("both be step counts or both ratios"), std::string::npos);

  TrainingArguments g;
  g.lr_scheduler_type = SchedulerType::reduce_lr_on_plateau;
  EXPECT_NE(error_of(g).find("needs evaluations"), std::string::npos);

  TrainingArguments h;
  h.dataloader_prefetch_factor = 2;
  EXPECT_NE(error_of(h).find("args.dataloader_num_workers"), std::string::npos);

  TrainingArguments i;
  i.save_strategy = SaveStrategy::best;
  EXPECT_NE(error_of(i).find("args.metric_for_best_model"), std::string::npos);

  TrainingArguments k;
  k.warmup_steps = -1;
  EXPECT_NE(error_of(k).find("args.warmup_steps"), std::string::npos);

  TrainingArguments l;
  l.gradient_accumulation_steps = 0;
  EXPECT_NE(error_of(l).find("args.gradient_accumulation_steps"), std::string::npos);
}

TEST(TrainingArguments, EveryFloatRejectsNanAndInfinity) {
  TrainingArguments probe;
  int floats = 0;
  for (const auto& spec : training_argument_specs(probe)) {
    if (spec.type != "float") continue;
    for (const char* bad : {"nan", "inf", "-inf"}) {
      TrainingArguments a;
      a.eval_strategy = IntervalStrategy::steps;  // so that eval_steps is read
      auto specs = training_argument_specs(a);
      for (auto& s : specs)
        if (s.name == spec.name) s.set({bad});
      const std::string err = error_of(a);
      EXPECT_NE(err.find("args." + spec.name + ": must be a finite number"), std::string::npos)
          << spec.name << "=" << bad << ": " << err;
    }
    ++floats;
  }
  EXPECT_GE(floats, 12);
}

TEST(TrainingArguments, OptimizerAndWorkerBounds) {
  TrainingArguments a;
  a.adam_epsilon = -1;
  EXPECT_NE(error_of(a).find("args.adam_epsilon: must be >= 0"), std::string::npos);
  TrainingArguments w;
  w.dataloader_num_workers = 100000;
  const std::string err = error_of(w);
  EXPECT_NE(err.find("args.dataloader_num_workers: at most 64, got 100000"), std::string::npos) << err;
  EXPECT_NE(err.find("each worker is a thread"), std::string::npos) << err;
}

TEST(TrainingArguments, ResumeDifferencesAreSortedByWhatTheyBreak) {
  TrainingArguments saved;
  TrainingArguments now = saved;
  now.learning_rate = 1e-4;
  now.per_device_train_batch_size = 64;
  now.output_dir = "elsewhere";
  now.report_to = {"tensorboard"};
  const auto d = compare_resume_arguments(saved.to_json(), now);
  ASSERT_EQ(d.changes_training.size(), 1u);
  EXPECT_EQ(d.changes_training[0], "--learning_rate: 0.0001 now, 5e-05 in the checkpoint");
  ASSERT_EQ(d.changes_batches.size(), 1u);
  EXPECT_EQ(d.changes_batches[0], "--per_device_train_batch_size: 64 now, 8 in the checkpoint");
  EXPECT_TRUE(compare_resume_arguments(saved.to_json(), saved).changes_training.empty());
}

TEST(TrainingArguments, RanksAreComparedOnWhatChangesTrainingOrCollectives) {
  TrainingArguments zero;
  TrainingArguments one = zero;
  one.learning_rate = 1e-4;
  one.seed = 7;
  one.ddp_broadcast_buffers = false;
  one.ddp_find_unused_parameters = false;
  one.output_dir = "elsewhere";  // output only: not compared
  one.logging_steps = 3;
  const auto d = compare_rank_arguments(zero.to_json(), one, 1);
  ASSERT_EQ(d.size(), 4u);  // in the argument table's order
  EXPECT_EQ(d[0], "--learning_rate: 0.0001 on rank 1, 5e-05 on rank 0");
  EXPECT_EQ(d[1], "--ddp_broadcast_buffers: false on rank 1, null on rank 0");
  EXPECT_EQ(d[2], "--ddp_find_unused_parameters: false on rank 1, null on rank 0");
  EXPECT_EQ(d[3], "--seed: 7 on rank 1, 42 on rank 0");
  EXPECT_TRUE(compare_rank_arguments(zero.to_json(), zero, 1).empty());
}

TEST(TrainingArguments, RatiosThatMatchAreAccepted) {
  TrainingArguments a;
  a.load_best_model_at_end = true;
  a.eval_strategy = IntervalStrategy::steps;
  a.eval_steps = 0.1;
  a.save_steps = 0.2;
  EXPECT_EQ(error_of(a), "");
}

TEST(TrainingArguments, JsonRoundTrip) {
  TrainingArguments a;
  a.learning_rate = 3e-4;
  a.report_to = {"tensorboard", "mlflow"};
  a.lr_scheduler_kwargs = Json{{"num_cycles", 2}};
  a.metric_for_best_model = "accuracy";
  a.save_total_limit = 3;
  Json j = a.to_json();
  EXPECT_EQ(j["learning_rate"], 3e-4);
  EXPECT_TRUE(j["data_seed"].is_null());
  auto b = TrainingArguments::from_json(j);
  EXPECT_EQ(b.to_json(), j);
  EXPECT_EQ(b.report_to, a.report_to);
  EXPECT_EQ(b.lr_scheduler_kwargs["num_cycles"], 2);
}

}  // namespace
}  // namespace trainer

namespace trainer {
namespace {

// The original takes a choice or a bool here (true: all, false: no), and saves the choice.
TEST(TrainingArguments, IncludeNumInputTokensSeenTakesAChoiceOrABool) {
  for (const auto& [given, expected] :
       std::vector<std::pair<Json, InputTokensSeen>>{{Json(true), InputTokensSeen::all},
                                                     {Json(false), InputTokensSeen::no},
                                                     {Json("non_padding"), InputTokensSeen::non_padding},
                                                     {Json("all"), InputTokensSeen::all}}) {
    const auto a = TrainingArguments::from_json(Json{{"include_num_input_tokens_seen", given}});
    EXPECT_EQ(a.include_num_input_tokens_seen, expected) << dump_json(given);
    EXPECT_EQ(a.to_json()["include_num_input_tokens_seen"], to_string(expected));
  }
  EXPECT_THROW(TrainingArguments::from_json(Json{{"include_num_input_tokens_seen", "some"}}), ArgumentError);
}

}  // namespace
}  // namespace trainer
