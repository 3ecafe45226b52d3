#include "trainer/core/lr_scheduler.h"

#include <gtest/gtest.h>

#include <cmath>

#include "test_support.h"

namespace trainer {
namespace {

// Golden curves from tests/golden/make_golden.py (torch's LambdaLR and ReduceLROnPlateau).
const Json& golden() {
  static const Json g = read_json_file(testing::golden("lr_schedules.json"));
  return g;
}

void expect_close(double expected, double actual, const std::string& what) {
  EXPECT_NEAR(actual, expected, 1e-12 + 1e-9 * std::fabs(expected)) << what;
}

TEST(LRScheduler, EveryLambdaScheduleMatchesTorch) {
  ASSERT_GE(golden()["lambda"].size(), 11u);
  for (const auto& c : golden()["lambda"]) {
    const std::string type = c["type"];
    std::vector<double> applied;
    auto sched = get_scheduler(
        choice_from_string<SchedulerType>(type).value(), {c["lr"].get<double>()},
        [&](size_t, double lr) { applied.push_back(lr); }, c["warmup"].get<int64_t>(), c["total"].get<int64_t>(),
        c["kwargs"]);
    const auto& lrs = c["lrs"];
    for (size_t k = 0; k < lrs.size(); ++k) {
      expect_close(lrs[k].get<double>(), sched->get_last_lr()[0],
                   type + " " + dump_json(c["kwargs"], {-1}) + " step " + std::to_string(k));
      sched->step();
    }
    EXPECT_EQ(applied.size(), lrs.size() + 1) << type;  // construction applies lambda(0), then each step
  }
}

TEST(LRScheduler, ReduceLROnPlateauMatchesTorch) {
  for (const auto& c : golden()["plateau"]) {
    double lr = c["lr"].get<double>();
    auto sched = get_scheduler(
        SchedulerType::reduce_lr_on_plateau, {lr}, [&](size_t, double v) { lr = v; }, 0, 0, c["kwargs"]);
    EXPECT_TRUE(sched->is_metric_driven());
    for (size_t i = 0; i < c["metrics"].size(); ++i) {
      sched->step_with_metric(c["metrics"][i].get<double>());
      expect_close(c["lrs"][i].get<double>(), lr, dump_json(c["kwargs"], {-1}) + " eval " + std::to_string(i));
    }
  }
}

TEST(LRScheduler, StateDictRestoresTheCurve) {
  auto a = get_scheduler(SchedulerType::cosine, {1.0}, nullptr, 5, 50);
  for (int i = 0; i < 17; ++i) a->step();
  auto b = get_scheduler(SchedulerType::cosine, {1.0}, nullptr, 5, 50);
  b->load_state_dict(parse_json(dump_json(a->state_dict())));
  EXPECT_EQ(b->last_epoch(), 17);
  a->step();
  b->step();
  EXPECT_EQ(a->get_last_lr(), b->get_last_lr());
}

TEST(LRScheduler, BadOptionsAreClearErrors) {
  auto err = [](const std::string& type, const Json& kw) -> std::string {
    try {
      get_scheduler(choice_from_string<SchedulerType>(type).value(), {1e-3}, nullptr, 0, 100, kw);
    } catch (const std::invalid_argument& e) {
      return e.what();
    }
    return "";
  };
  EXPECT_NE(err("warmup_stable_decay", Json::object()).find("num_decay_steps is required"), std::string::npos);
  EXPECT_NE(err("cosine_with_min_lr", Json::object()).find("exactly one of min_lr or min_lr_rate"), std::string::npos);
  EXPECT_NE(err("polynomial", Json{{"lr_end", 1.0}}).find("must be smaller than --learning_rate"), std::string::npos);
  EXPECT_NE(err("linear", Json{{"num_cycles", 1}}).find("unknown option 'num_cycles'"), std::string::npos);
  EXPECT_NE(err("reduce_lr_on_plateau", Json{{"mode", "up"}}).find("mode must be"), std::string::npos);
  // An unknown name cannot reach get_scheduler: the argument is an enum, parsed in one place.
  EXPECT_FALSE(choice_from_string<SchedulerType>("nope"));
}

}  // namespace
}  // namespace trainer
