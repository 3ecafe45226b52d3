// The event order of the training loop against the original's rules for it:
// the worked example literally, then many configurations against an oracle that applies the rules
// step by step (written from the original's rules, independent of src/torch/trainer.cpp).

#include <gtest/gtest.h>

#include <cmath>
#include <sstream>

#include "test_support.h"
#include "trainer/callbacks/default_flow_callback.h"
#include "trainer/callbacks/progress_callback.h"
#include "trainer/core/trainer_state.h"
#include "trainer/torch/models.h"
#include "trainer/torch/trainer.h"

namespace trainer {
namespace {

std::string flags(const TrainerControl& c) {
  std::string f;
  if (c.should_log) f += "L";
  if (c.should_evaluate) f += "E";
  if (c.should_save) f += "S";
  if (c.should_training_stop) f += "T";
  return f.empty() ? "-" : f;
}

// Records every event; optionally steers (stops the epoch or the training at a given step).
struct Recorder : TrainerCallback {
  std::vector<std::string> events;
  int64_t stop_training_at = -1;
  int64_t stop_epoch_at = -1;

  void on_init_end(const Args&, TrainerState&, TrainerControl&, CallbackContext&) override {
    events.push_back("init_end");
  }
  void on_train_begin(const Args&, TrainerState&, TrainerControl&, CallbackContext&) override {
    events.push_back("train_begin");
  }
  void on_train_end(const Args&, TrainerState&, TrainerControl&, CallbackContext&) override {
    events.push_back("train_end");
  }
  void on_epoch_begin(const Args&, TrainerState&, TrainerControl&, CallbackContext&) override {
    events.push_back("epoch_begin");
  }
  void on_epoch_end(const Args&, TrainerState& s, TrainerControl& c, CallbackContext&) override {
    events.push_back("epoch_end " + flags(c));
  }
  void on_step_begin(const Args&, TrainerState&, TrainerControl&, CallbackContext&) override {
    events.push_back("step_begin");
  }
  void on_substep_end(const Args&, TrainerState&, TrainerControl&, CallbackContext&) override {
    events.push_back("substep_end");
  }
  void on_pre_optimizer_step(const Args&, TrainerState&, TrainerControl&, CallbackContext&) override {
    events.push_back("pre_optimizer_step");
  }
  void on_optimizer_step(const Args&, TrainerState&, TrainerControl&, CallbackContext&) override {
    events.push_back("optimizer_step");
  }
  void on_step_end(const Args&, TrainerState& s, TrainerControl& c, CallbackContext&) override {
    std::ostringstream e;
    e << "step_end gs=" << s.global_step << " epoch=" << python_float_repr(s.epoch) << " " << flags(c);
    events.push_back(e.str());
    if (s.global_step == stop_training_at) c.should_training_stop = true;
    if (s.global_step == stop_epoch_at) c.should_epoch_stop = true;
  }
  void on_evaluate(const Args&, TrainerState&, TrainerControl&, CallbackContext& ctx) override {
    events.push_back("evaluate");
    EXPECT_NE(ctx.metrics, nullptr);
  }
  void on_predict(const Args&, TrainerState&, TrainerControl&, CallbackContext&) override {
    events.push_back("predict");
  }
  void on_save(const Args&, TrainerState& s, TrainerControl&, CallbackContext&) override {
    events.push_back("save gs=" + std::to_string(s.global_step));
  }
  void on_log(const Args&, TrainerState&, TrainerControl&, CallbackContext& ctx) override {
    const Json& l = *ctx.logs;
    events.push_back(l.contains("train_runtime") ? "log final" : l.contains("loss") ? "log train" : "log eval");
  }
  void on_prediction_step(const Args&, TrainerState&, TrainerControl&, CallbackContext&) override {
    events.push_back("prediction_step");
  }
};

struct Scenario {
  std::string name;
  int64_t n_train = 40, batch = 8, ga = 1;
  double epochs = 1;
  int64_t max_steps = -1;
  IntervalStrategy logging_strategy = IntervalStrategy::steps;
  double logging_steps = 500;
  bool logging_first_step = false;
  IntervalStrategy eval_strategy = IntervalStrategy::no;
  std::optional<double> eval_steps;
  double eval_delay = 0;
  bool eval_on_start = false;
  SaveStrategy save_strategy = SaveStrategy::no;
  double save_steps = 500;
  int64_t n_eval = 24;
  int64_t stop_training_at = -1, stop_epoch_at = -1;
};

// gtest prints the scenario's name instead of its bytes.
void PrintTo(const Scenario& sc, std::ostream* os) { *os << sc.name; }

TrainingArguments args_for(const Scenario& sc, const std::string& output_dir) {
  TrainingArguments a;
  a.output_dir = output_dir;
  a.per_device_train_batch_size = sc.batch;
  a.per_device_eval_batch_size = 8;
  a.gradient_accumulation_steps = sc.ga;
  a.num_train_epochs = sc.epochs;
  a.max_steps = sc.max_steps;
  a.logging_strategy = sc.logging_strategy;
  a.logging_steps = sc.logging_steps;
  a.logging_first_step = sc.logging_first_step;
  a.eval_strategy = sc.eval_strategy;
  a.eval_steps = sc.eval_steps;
  a.eval_delay = sc.eval_delay;
  a.eval_on_start = sc.eval_on_start;
  a.save_strategy = sc.save_strategy;
  a.save_steps = sc.save_steps;
  a.learning_rate = 1e-3;
  a.disable_tqdm = false;  // the progress callback is part of the default set
  a.use_cpu = true;
  return a;
}

std::vector<std::string> run(const Scenario& sc) {
  testing::TempDir dir;
  auto train = std::make_shared<TensorDataset>(torch::randn({sc.n_train, 4}), torch::randint(0, 3, {sc.n_train}));
  auto eval = std::make_shared<TensorDataset>(torch::randn({sc.n_eval, 4}), torch::randint(0, 3, {sc.n_eval}));
  auto rec = std::make_shared<Recorder>();
  rec->stop_training_at = sc.stop_training_at;
  rec->stop_epoch_at = sc.stop_epoch_at;
  std::FILE* devnull = std::fopen("/dev/null", "w");
  {
    Trainer t(make_builtin_model("mlp", 4, 3), args_for(sc, dir.path().string()), train, eval, {rec}, compute_accuracy);
    // Keep the test output quiet: the progress display writes to /dev/null.
    t.pop_callback<ProgressCallback>();
    t.add_callback(std::make_shared<ProgressCallback>(100, devnull, 0, 3600));
    t.train();
  }
  std::fclose(devnull);
  return rec->events;
}

// The oracle: the original's rules for the loop and DefaultFlowCallback applied to the scenario.
std::vector<std::string> expected(const Scenario& sc) {
  std::vector<std::string> ev = {"init_end", "train_begin"};
  const int64_t len = (sc.n_train + sc.batch - 1) / sc.batch;  // batches per epoch, the last one short
  // The steps and epochs come from the core's plan, the same function the loop calls.
  const TrainingPlan plan = plan_training(args_for(sc, "unused"), sc.n_train, len);
  const int64_t max_steps = plan.max_steps, epochs = plan.num_train_epochs;
  auto resolve = [&](double v) {
    return v < 1 ? static_cast<int64_t>(std::ceil(max_steps * v)) : static_cast<int64_t>(v);
  };
  const int64_t log_steps = resolve(sc.logging_steps);
  const int64_t eval_steps = resolve(sc.eval_steps.value_or(sc.logging_steps));
  const int64_t save_steps = resolve(sc.save_steps);
  const int64_t eval_batches = (sc.n_eval + 7) / 8;
  bool L = false, E = false, S = false, T = false, epoch_stop = false;
  int64_t gs = 0, last_logged = 0;
  double epoch_value = 0;
  auto evaluation = [&] {
    for (int64_t i = 0; i < eval_batches; ++i) ev.push_back("prediction_step");
    ev.push_back("log eval");
    ev.push_back("evaluate");
  };
  auto block = [&] {
    if (L && gs > last_logged) {
      ev.push_back("log train");
      last_logged = gs;
      L = false;
    }
    if (E) {
      evaluation();
      E = false;
    }
    if (S) {
      ev.push_back("save gs=" + std::to_string(gs));
      S = false;
    }
  };
  auto f = [&] {
    std::string s = std::string(L ? "L" : "") + (E ? "E" : "") + (S ? "S" : "") + (T ? "T" : "");
    return s.empty() ? std::string("-") : s;
  };
  if (sc.eval_on_start) evaluation();
  for (int64_t e = 0; e < epochs; ++e) {
    ev.push_back("epoch_begin");
    epoch_stop = false;
    for (int64_t step = 0; step < len; ++step) {
      if (step % sc.ga == 0) {
        ev.push_back("step_begin");
        L = E = S = false;
      }
      const bool sync = (step + 1) % sc.ga == 0 || step + 1 == len;
      if (sync) {
        ev.push_back("pre_optimizer_step");
        ev.push_back("optimizer_step");
        ++gs;
        epoch_value = static_cast<double>(e) + static_cast<double>(step + 1) / static_cast<double>(len);
        // DefaultFlowCallback.on_step_end
        if (gs == 1 && sc.logging_first_step) L = true;
        if (sc.logging_strategy == IntervalStrategy::steps && gs % log_steps == 0) L = true;
        const bool eval_due = sc.eval_strategy == IntervalStrategy::steps && gs % eval_steps == 0;
        if (eval_due && sc.eval_delay <= gs) E = true;
        if (sc.save_strategy == SaveStrategy::steps && gs % save_steps == 0) S = true;
        if (gs >= max_steps) {
          T = true;
          if (sc.save_strategy == SaveStrategy::steps) S = true;
          if (sc.eval_strategy == IntervalStrategy::steps && !eval_due && sc.eval_delay <= gs) E = true;
        }
        ev.push_back("step_end gs=" + std::to_string(gs) + " epoch=" + python_float_repr(epoch_value) + " " + f());
        if (gs == sc.stop_training_at) T = true;
        if (gs == sc.stop_epoch_at) epoch_stop = true;
        block();
      } else {
        ev.push_back("substep_end");
      }
      if (epoch_stop || T) break;
    }
    if (sc.logging_strategy == IntervalStrategy::epoch) L = true;
    if (sc.eval_strategy == IntervalStrategy::epoch && sc.eval_delay <= epoch_value) E = true;
    if (sc.save_strategy == SaveStrategy::epoch) S = true;
    ev.push_back("epoch_end " + f());
    block();
    if (T) break;
  }
  ev.push_back("log final");
  ev.push_back("train_end");
  return ev;
}

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += s + "\n";
  return out;
}

TEST(EventOrder, TheSpecificationsWorkedExample) {
  // 5 batches per epoch, GA 2, 2 epochs, log/eval every 2 steps with logging_first_step, save every 4,
  // an evaluation set of 3 batches.
  Scenario sc;
  sc.n_train = 40;
  sc.ga = 2;
  sc.epochs = 2;
  sc.logging_steps = 2;
  sc.logging_first_step = true;
  sc.eval_strategy = IntervalStrategy::steps;
  sc.eval_steps = 2;
  sc.save_strategy = SaveStrategy::steps;
  sc.save_steps = 4;
  sc.n_eval = 24;
  const std::vector<std::string> pred3 = {"prediction_step", "prediction_step", "prediction_step"};
  std::vector<std::string> want = {"init_end",       "train_begin",
                                   "epoch_begin",    "step_begin",
                                   "substep_end",    "pre_optimizer_step",
                                   "optimizer_step", "step_end gs=1 epoch=0.4 L",
                                   "log train",      "step_begin",
                                   "substep_end",    "pre_optimizer_step",
                                   "optimizer_step", "step_end gs=2 epoch=0.8 LE",
                                   "log train"};
  want.insert(want.end(), pred3.begin(), pred3.end());
  for (auto s : {"log eval", "evaluate", "step_begin", "pre_optimizer_step", "optimizer_step",
                 "step_end gs=3 epoch=1.0 -", "epoch_end -", "epoch_begin", "step_begin", "substep_end",
                 "pre_optimizer_step", "optimizer_step", "step_end gs=4 epoch=1.4 LES", "log train"})
    want.push_back(s);
  want.insert(want.end(), pred3.begin(), pred3.end());
  for (auto s : {"log eval", "evaluate", "save gs=4", "step_begin", "substep_end", "pre_optimizer_step",
                 "optimizer_step", "step_end gs=5 epoch=1.8 -", "step_begin", "pre_optimizer_step", "optimizer_step",
                 "step_end gs=6 epoch=2.0 LEST", "log train"})
    want.push_back(s);
  want.insert(want.end(), pred3.begin(), pred3.end());
  for (auto s : {"log eval", "evaluate", "save gs=6", "epoch_end T", "log final", "train_end"}) want.push_back(s);
  EXPECT_EQ(join(run(sc)), join(want));
  EXPECT_EQ(join(expected(sc)), join(want));  // the oracle agrees with the worked example
}

TEST(EventOrder, GradientAccumulationOneHasNoSubsteps) {
  Scenario sc;
  sc.n_train = 24;
  sc.epochs = 1;
  auto ev = run(sc);
  EXPECT_EQ(std::count(ev.begin(), ev.end(), "substep_end"), 0);
  std::vector<std::string> first(ev.begin() + 3, ev.begin() + 7);
  EXPECT_EQ(first, (std::vector<std::string>{"step_begin", "pre_optimizer_step", "optimizer_step",
                                             "step_end gs=1 epoch=0.3333333333333333 -"}));
}

class EventOrderScenarios : public ::testing::TestWithParam<Scenario> {};

TEST_P(EventOrderScenarios, MatchTheRules) {
  const Scenario& sc = GetParam();
  EXPECT_EQ(join(run(sc)), join(expected(sc))) << sc.name;
}

std::vector<Scenario> scenarios() {
  std::vector<Scenario> v;
  auto add = [&](std::string name, auto edit) {
    Scenario s;
    s.name = std::move(name);
    edit(s);
    v.push_back(s);
  };
  add("ga1_three_epochs_log_every_2", [](Scenario& s) {
    s.n_train = 20;
    s.batch = 8;
    s.epochs = 3;
    s.logging_steps = 2;
    s.logging_first_step = true;
  });
  add("ga3_uneven_epochs", [](Scenario& s) {
    s.n_train = 56;
    s.ga = 3;
    s.epochs = 2;
    s.logging_steps = 1;
  });
  add("ga2_max_steps_mid_epoch", [](Scenario& s) {
    s.n_train = 40;
    s.ga = 2;
    s.max_steps = 4;
    s.logging_steps = 1;
    s.save_strategy = SaveStrategy::steps;
    s.save_steps = 3;
  });
  add("epoch_strategies", [](Scenario& s) {
    s.n_train = 40;
    s.ga = 2;
    s.epochs = 3;
    s.logging_strategy = IntervalStrategy::epoch;
    s.eval_strategy = IntervalStrategy::epoch;
    s.save_strategy = SaveStrategy::epoch;
  });
  add("eval_delay_steps", [](Scenario& s) {
    s.n_train = 64;
    s.epochs = 2;
    s.eval_strategy = IntervalStrategy::steps;
    s.eval_steps = 2;
    s.eval_delay = 5;
    s.logging_steps = 3;
  });
  add("eval_delay_epochs", [](Scenario& s) {
    s.n_train = 16;
    s.epochs = 4;
    s.eval_strategy = IntervalStrategy::epoch;
    s.eval_delay = 2;
  });
  add("fractional_intervals", [](Scenario& s) {
    s.n_train = 80;
    s.epochs = 2;
    s.logging_steps = 0.25;
    s.eval_strategy = IntervalStrategy::steps;
    s.eval_steps = 0.5;
    s.save_strategy = SaveStrategy::steps;
    s.save_steps = 0.5;
  });
  add("final_eval_between_points", [](Scenario& s) {
    s.n_train = 56;
    s.epochs = 1;
    s.eval_strategy = IntervalStrategy::steps;
    s.eval_steps = 3;
    s.logging_steps = 3;
    s.save_strategy = SaveStrategy::steps;
    s.save_steps = 5;
  });
  add("callback_stops_training", [](Scenario& s) {
    s.n_train = 80;
    s.epochs = 3;
    s.logging_steps = 2;
    s.stop_training_at = 3;
    s.save_strategy = SaveStrategy::steps;
    s.save_steps = 2;
  });
  add("callback_stops_epoch", [](Scenario& s) {
    s.n_train = 40;
    s.ga = 2;
    s.epochs = 3;
    s.logging_strategy = IntervalStrategy::epoch;
    s.stop_epoch_at = 1;
  });
  add("eval_on_start", [](Scenario& s) {
    s.n_train = 24;
    s.epochs = 1;
    s.eval_on_start = true;
    s.eval_strategy = IntervalStrategy::epoch;
    s.n_eval = 20;
  });
  add("logging_no_with_first_step", [](Scenario& s) {
    s.n_train = 40;
    s.epochs = 1;
    s.logging_strategy = IntervalStrategy::no;
    s.logging_first_step = true;
  });
  add("fractional_epochs", [](Scenario& s) {
    s.n_train = 80;
    s.epochs = 1.5;
    s.logging_steps = 4;
    s.eval_strategy = IntervalStrategy::epoch;
    s.save_strategy = SaveStrategy::epoch;
  });
  add("ga_larger_than_epoch", [](Scenario& s) {
    s.n_train = 24;
    s.ga = 4;
    s.epochs = 3;
    s.logging_steps = 1;
    s.eval_strategy = IntervalStrategy::steps;
    s.eval_steps = 2;
  });
  add("max_steps_longer_than_epochs", [](Scenario& s) {
    s.n_train = 24;
    s.ga = 2;
    s.max_steps = 7;
    s.logging_steps = 2;
    s.eval_strategy = IntervalStrategy::steps;
    s.eval_steps = 3;
    s.n_eval = 9;
  });
  add("many_eval_batches", [](Scenario& s) {
    s.n_train = 32;
    s.epochs = 2;
    s.eval_strategy = IntervalStrategy::epoch;
    s.n_eval = 50;
    s.logging_strategy = IntervalStrategy::epoch;
  });
  return v;
}

INSTANTIATE_TEST_SUITE_P(Rules, EventOrderScenarios, ::testing::ValuesIn(scenarios()),
                         [](const ::testing::TestParamInfo<Scenario>& info) { return info.param.name; });

}  // namespace
}  // namespace trainer
