// Checkpoints resume exactly: a run resumed from checkpoint-k ends with bit-identical weights and the
// same log_history as the run that never stopped; damaged checkpoints are refused and skipped.

#include <gtest/gtest.h>

#include <signal.h>
#include <sys/resource.h>

#include <filesystem>
#include <fstream>

#include "test_support.h"
#include "trainer/callbacks/early_stopping_callback.h"
#include "trainer/callbacks/preemption_callback.h"
#include "trainer/callbacks/printer_callback.h"
#include "trainer/core/argument_spec.h"
#include "trainer/core/json.h"
#include "trainer/core/trainer_state.h"
#include "trainer/torch/checkpoint.h"
#include "trainer/torch/device.h"
#include "trainer/torch/models.h"
#include "trainer/torch/safetensors.h"
#include "trainer/torch/trainer.h"

namespace trainer {
namespace {

namespace fs = std::filesystem;

// Dropout makes the result depend on the restored random state.
struct NetImpl : torch::nn::Module {
  NetImpl()
      : fc1(register_module("fc1", torch::nn::Linear(6, 16))), fc2(register_module("fc2", torch::nn::Linear(16, 3))) {}
  torch::Tensor forward(const torch::Tensor& x) { return fc2(torch::dropout(torch::relu(fc1(x)), 0.3, is_training())); }
  torch::nn::Linear fc1, fc2;
};
TORCH_MODULE(Net);

std::shared_ptr<TensorDataset> data(int64_t n, uint64_t seed) {
  auto gen = at::detail::createCPUGenerator(seed);
  auto x = torch::randn({n, 6}, gen);
  return std::make_shared<TensorDataset>(x, x.reshape({n, 3, 2}).sum(2).argmax(1));
}

// Makes files larger than 512 bytes fail to write, as on a full disk, from `at_step` on; the limit
// is lifted when the test's guard goes out of scope.
struct FillDiskAt : TrainerCallback {
  explicit FillDiskAt(int64_t step) : at_step(step) {}
  int64_t at_step;
  void on_step_end(const Args&, TrainerState& s, TrainerControl&, CallbackContext&) override {
    if (s.global_step != at_step) return;
    ::signal(SIGXFSZ, SIG_IGN);
    struct rlimit lim {
      512, RLIM_INFINITY
    };
    ::setrlimit(RLIMIT_FSIZE, &lim);
  }
};
struct LiftFileSizeLimit {
  ~LiftFileSizeLimit() {
    struct rlimit unlimited {
      RLIM_INFINITY, RLIM_INFINITY
    };
    ::setrlimit(RLIMIT_FSIZE, &unlimited);
    ::signal(SIGXFSZ, SIG_DFL);
  }
};

// Trains with FillDiskAt in the callbacks; returns the error training stopped with ("" if none).
std::string train_with_full_disk(Trainer& t) {
  LiftFileSizeLimit guard;
  try {
    t.train();
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  return "";
}

TrainingArguments resume_args(const fs::path& out) {
  TrainingArguments a;
  a.output_dir = out.string();
  a.per_device_train_batch_size = 8;
  a.gradient_accumulation_steps = 2;
  a.num_train_epochs = 3;  // 7 batches an epoch: groups of 2, 2, 2, 1 -> 4 steps an epoch, 12 in all
  a.learning_rate = 5e-2;
  a.lr_scheduler_type = SchedulerType::cosine;
  a.warmup_steps = 3;
  a.logging_steps = 3;
  a.save_strategy = SaveStrategy::steps;
  a.save_steps = 1;
  a.eval_strategy = IntervalStrategy::steps;
  a.eval_steps = 5;
  a.use_cpu = true;
  a.disable_tqdm = true;
  return a;
}

struct RunResult {
  NamedTensors weights;
  Json history;
  int64_t host_reads;
};

Json without_timings(const Json& history) {
  Json out = Json::array();
  for (const auto& e : history) {
    Json kept = Json::object();
    for (auto it = e.begin(); it != e.end(); ++it)
      if (it.key().find("runtime") == std::string::npos && it.key().find("per_second") == std::string::npos)
        kept[it.key()] = it.value();
    out.push_back(kept);
  }
  return out;
}

RunResult train_run(const fs::path& out, std::optional<std::string> resume, uint64_t init_seed,
                    OptimizerNames optim = OptimizerNames::adamw_torch_fused, const std::string& optim_args = "") {
  set_seed(static_cast<int64_t>(init_seed));
  auto model = wrap_module(Net());
  auto args = resume_args(out);
  args.optim = optim;
  if (!optim_args.empty()) args.optim_args = optim_args;
  Trainer t(model, args, data(50, 1), data(20, 2), {}, compute_accuracy);
  t.pop_callback<PrinterCallback>();
  t.train(resume);
  RunResult r;
  for (auto& [n, w] : model->state_dict()) r.weights.emplace_back(n, w.clone());
  r.history = without_timings(t.state().log_history);
  r.host_reads = t.host_reads();
  return r;
}

TEST(Resume, BitIdenticalWeightsAndHistoryForEveryStoppingPoint) {
  testing::TempDir full_dir;
  const auto full = train_run(full_dir.path(), std::nullopt, 1);
  ASSERT_EQ(full.history.size(), 4u + 3u + 1u);  // logs at 3, 6, 9, 12; evaluations at 5, 10, 12; final
  // k = 2 and 5: mid-epoch; 4 and 8: epoch boundaries; 9: right after a log; 11: one step from the end.
  for (int64_t k : {2, 4, 5, 8, 9, 11}) {
    testing::TempDir dir;
    fs::copy(full_dir / checkpoint_dir_name(k), dir / checkpoint_dir_name(k), fs::copy_options::recursive);
    // A different initialisation and random state: everything must come from the checkpoint.
    const auto resumed = train_run(dir.path(), (dir / checkpoint_dir_name(k)).string(), 1000 + k);
    ASSERT_EQ(resumed.weights.size(), full.weights.size());
    for (size_t i = 0; i < full.weights.size(); ++i)
      EXPECT_TRUE(torch::equal(resumed.weights[i].second, full.weights[i].second))
          << "k=" << k << " " << full.weights[i].first;
    EXPECT_EQ(dump_json(resumed.history), dump_json(full.history)) << "k=" << k;
  }
}

TEST(Resume, EveryOptimizersStateIsRestored) {
  for (auto [optim, optim_args] :
       std::vector<std::pair<OptimizerNames, std::string>>{{OptimizerNames::adam, "amsgrad=true"},
                                                           {OptimizerNames::sgd, "momentum=0.9,nesterov=true"},
                                                           {OptimizerNames::adamw_torch, ""}}) {
    testing::TempDir full_dir, dir;
    const auto full = train_run(full_dir.path(), std::nullopt, 1, optim, optim_args);
    fs::copy(full_dir / "checkpoint-6", dir / "checkpoint-6", fs::copy_options::recursive);
    const auto resumed = train_run(dir.path(), (dir / "checkpoint-6").string(), 5, optim, optim_args);
    for (size_t i = 0; i < full.weights.size(); ++i)
      EXPECT_TRUE(torch::equal(resumed.weights[i].second, full.weights[i].second))
          << to_string(optim) << " " << full.weights[i].first;
  }
}

TEST(Resume, LastTakesTheNewestGoodCheckpointAndSkipsDamagedOnes) {
  testing::TempDir dir;
  auto args = resume_args(dir.path());
  args.max_steps = 6;
  args.eval_strategy = IntervalStrategy::no;
  Trainer first(wrap_module(Net()), args, data(50, 1));
  first.pop_callback<PrinterCallback>();
  first.train();
  // Damage the two newest checkpoints in two ways.
  fs::resize_file(dir / "checkpoint-6" / "model.safetensors", 100);
  std::ofstream(dir / "checkpoint-5" / "trainer_state.json") << "{\"global_step\": ";
  testing::CapturedLogs logs;
  EXPECT_EQ(latest_valid_checkpoint(dir.path()), dir / "checkpoint-4");
  EXPECT_TRUE(logs.contains("checkpoint-6 cannot be resumed from (model.safetensors"));
  EXPECT_TRUE(logs.contains("checkpoint-5 cannot be resumed from (trainer_state.json"));
  args.max_steps = 8;
  Trainer second(wrap_module(Net()), args, data(50, 1));
  second.pop_callback<PrinterCallback>();
  auto out = second.train("last");
  EXPECT_EQ(out.global_step, 8);
  // A named checkpoint that is damaged is an error naming the problem: the fallback is for "last" only.
  fs::resize_file(dir / "checkpoint-8" / "model.safetensors", 10);
  Trainer third(wrap_module(Net()), args, data(50, 1));
  third.pop_callback<PrinterCallback>();
  try {
    third.train((dir / "checkpoint-8").string());
    ADD_FAILURE() << "a damaged named checkpoint must not be resumed from, nor replaced by another";
  } catch (const ArgumentError& e) {
    EXPECT_NE(std::string(e.what()).find("checkpoint-8 cannot be resumed from (model.safetensors has 10 bytes"),
              std::string::npos)
        << e.what();
  }
  EXPECT_FALSE(logs.contains("resuming from"));
  // So is one that does not exist.
  Trainer fourth(wrap_module(Net()), args, data(50, 1));
  try {
    fourth.train((dir / "checkpoint-80").string());
    ADD_FAILURE() << "a missing named checkpoint must be an error";
  } catch (const ArgumentError& e) {
    EXPECT_NE(std::string(e.what()).find("checkpoint-80 cannot be resumed from (does not exist)"), std::string::npos)
        << e.what();
  }
  testing::TempDir empty;
  args.output_dir = empty.path().string();
  Trainer none(wrap_module(Net()), args, data(50, 1));
  EXPECT_THROW(none.train("last"), ArgumentError);
}

TEST(Resume, EarlyStoppingPatienceSurvivesAResume) {
  testing::TempDir dir;
  auto args = resume_args(dir.path());
  args.gradient_accumulation_steps = 1;
  args.num_train_epochs = 10;
  args.eval_strategy = IntervalStrategy::epoch;
  args.save_strategy = SaveStrategy::epoch;
  args.metric_for_best_model = "loss";
  args.learning_rate = 0;  // the loss never improves after the first evaluation
  args.warmup_steps = 0;
  auto run = [&](std::optional<std::string> resume) {
    Trainer t(wrap_module(Net()), args, data(56, 1), data(16, 2), {std::make_shared<EarlyStoppingCallback>(3)});
    t.pop_callback<PrinterCallback>();
    return t.train(resume).global_step;
  };
  EXPECT_EQ(run(std::nullopt), 4 * 7);  // evaluations 2, 3, 4 do not improve: stop after epoch 4
  fs::remove_all(dir / "checkpoint-21");
  fs::remove_all(dir / "checkpoint-28");
  // Resumed after epoch 2 (counter 1), it still stops after epoch 4, not 5.
  EXPECT_EQ(run((dir / "checkpoint-14").string()), 4 * 7);
}

TEST(Resume, CallbacksOfTheSameClassDoNotCollide) {
  testing::TempDir dir;
  auto args = resume_args(dir.path());
  args.max_steps = 4;
  args.eval_strategy = IntervalStrategy::steps;
  args.eval_steps = 1;
  args.metric_for_best_model = "loss";
  args.learning_rate = 0;
  auto a = std::make_shared<EarlyStoppingCallback>(10);
  auto b = std::make_shared<EarlyStoppingCallback>(20, 0.5);
  testing::CapturedLogs logs;
  Trainer t(wrap_module(Net()), args, data(50, 1), data(16, 2), {a, b});
  t.pop_callback<PrinterCallback>();
  t.train();
  auto state = TrainerState::load_from_json(dir / "checkpoint-4" / "trainer_state.json");
  const Json& stored = state.stateful_callbacks["EarlyStoppingCallback"];
  ASSERT_TRUE(stored.is_array());
  ASSERT_EQ(stored.size(), 2u);  // replaced on every save, not appended
  EXPECT_EQ(stored[0]["args"]["early_stopping_patience"], 10);
  EXPECT_EQ(stored[1]["args"]["early_stopping_patience"], 20);
  auto c = std::make_shared<EarlyStoppingCallback>(1);
  auto d = std::make_shared<EarlyStoppingCallback>(1);
  args.max_steps = 5;
  Trainer r(wrap_module(Net()), args, data(50, 1), data(16, 2), {c, d});
  r.pop_callback<PrinterCallback>();
  r.train((dir / "checkpoint-4").string());
  EXPECT_EQ(c->patience(), 10);
  EXPECT_EQ(d->patience(), 20);
  EXPECT_EQ(d->threshold(), 0.5);
}

TEST(Checkpoints, SaveStrategyBestSavesOnlyImprovements) {
  testing::TempDir dir;
  auto args = resume_args(dir.path());
  args.save_strategy = SaveStrategy::best;
  args.eval_steps = 1;
  args.metric_for_best_model = "accuracy";
  Trainer t(wrap_module(Net()), args, data(50, 1), data(20, 2), {}, compute_accuracy);
  t.pop_callback<PrinterCallback>();
  t.train();
  double best = -1;
  std::vector<int64_t> improved;
  for (const auto& e : t.state().log_history) {
    if (!e.contains("eval_accuracy")) continue;
    if (e["eval_accuracy"].get<double>() > best) {
      best = e["eval_accuracy"].get<double>();
      improved.push_back(e["step"].get<int64_t>());
    }
  }
  std::vector<int64_t> saved;
  for (const auto& p : sorted_checkpoints(dir.path())) saved.push_back(std::stoll(p.filename().string().substr(11)));
  EXPECT_EQ(saved, improved);
  EXPECT_EQ(*t.state().best_model_checkpoint, (dir / checkpoint_dir_name(improved.back())).string());
}

TEST(Checkpoints, AFullDiskFailsTheSaveClearlyAndKeepsOlderCheckpoints) {
  testing::TempDir dir;
  auto args = resume_args(dir.path());
  args.eval_strategy = IntervalStrategy::no;
  Trainer t(wrap_module(Net()), args, data(50, 1), nullptr, {std::make_shared<FillDiskAt>(3)});
  t.pop_callback<PrinterCallback>();
  const std::string error = train_with_full_disk(t);
  EXPECT_NE(error.find("saving " + (dir / "checkpoint-3").string() + " failed, earlier checkpoints are untouched"),
            std::string::npos)
      << error;
  EXPECT_NE(error.find("File too large"), std::string::npos) << error;
  EXPECT_FALSE(fs::exists(dir / "checkpoint-3"));
  EXPECT_EQ(checkpoint_problem(dir / "checkpoint-1"), "");
  EXPECT_EQ(checkpoint_problem(dir / "checkpoint-2"), "");
  for (const auto& e : fs::directory_iterator(dir.path())) EXPECT_NE(e.path().filename().string()[0], '.') << e.path();
}

TEST(Checkpoints, PreemptionSavesAndStopsAfterTheCurrentStep) {
  testing::TempDir dir;
  struct PreemptAt : TrainerCallback {
    void on_step_begin(const Args&, TrainerState& s, TrainerControl&, CallbackContext&) override {
      if (s.global_step == 4) PreemptionCallback::request(SIGTERM);  // arrives during step 5
    }
  };
  auto args = resume_args(dir.path());
  args.save_strategy = SaveStrategy::no;
  args.eval_strategy = IntervalStrategy::no;
  Trainer t(wrap_module(Net()), args, data(50, 1), nullptr,
            {std::make_shared<PreemptAt>(), std::make_shared<PreemptionCallback>()});
  t.pop_callback<PrinterCallback>();
  auto out = t.train();
  PreemptionCallback::reset();
  EXPECT_EQ(out.global_step, 5);
  EXPECT_EQ(checkpoint_problem(dir / "checkpoint-5"), "");
  EXPECT_EQ(sorted_checkpoints(dir.path()).size(), 1u);
}

}  // namespace
}  // namespace trainer

namespace trainer {
namespace {

std::string file_bytes(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

TEST(AsyncSave, WritesTheSameCheckpointsAsSyncAndResumesExactly) {
  testing::TempDir sync_dir, async_dir;
  const auto sync_run = train_run(sync_dir.path(), std::nullopt, 1);
  auto args = resume_args(async_dir.path());
  args.save_async = true;
  args.save_total_limit = 4;
  set_seed(1);
  auto model = wrap_module(Net());
  Trainer t(model, args, data(50, 1), data(20, 2), {}, compute_accuracy);
  t.pop_callback<PrinterCallback>();
  t.train();
  EXPECT_EQ(t.saves(), 12);
  // Rotation ran on the writer thread: the 4 newest remain, all complete.
  const auto kept = sorted_checkpoints(async_dir.path());
  ASSERT_EQ(kept.size(), 4u);
  for (const auto& dir : kept) {
    EXPECT_EQ(checkpoint_problem(dir), "") << dir;
    const auto twin = sync_dir / dir.filename().string();
    for (const char* f :
         {"model.safetensors", "optimizer.safetensors", "loop_state.json", "scheduler.json", "rng_state.pth"})
      EXPECT_TRUE(file_bytes(dir / f) == file_bytes(twin / f)) << dir / f;
    // trainer_state.json differs only in the measured runtimes.
    EXPECT_EQ(dump_json(without_timings(TrainerState::load_from_json(dir / "trainer_state.json").log_history)),
              dump_json(without_timings(TrainerState::load_from_json(twin / "trainer_state.json").log_history)));
  }
  const auto resumed = train_run(async_dir.path(), (async_dir / "checkpoint-9").string(), 77);
  for (size_t i = 0; i < sync_run.weights.size(); ++i)
    EXPECT_TRUE(torch::equal(resumed.weights[i].second, sync_run.weights[i].second)) << sync_run.weights[i].first;
}

TEST(AsyncSave, ABackgroundFailureIsReportedNotLost) {
  testing::TempDir dir;
  auto args = resume_args(dir.path());
  args.save_async = true;
  args.eval_strategy = IntervalStrategy::no;
  Trainer t(wrap_module(Net()), args, data(50, 1), nullptr, {std::make_shared<FillDiskAt>(3)});
  t.pop_callback<PrinterCallback>();
  const std::string error = train_with_full_disk(t);
  // The save in flight when the disk filled (checkpoint-2 or -3) fails on the writer thread; the
  // next save rethrows it, so training does not go on as if that checkpoint existed.
  EXPECT_NE(error.find("failed, earlier checkpoints are untouched"), std::string::npos) << error;
  EXPECT_NE(error.find("File too large"), std::string::npos) << error;
  EXPECT_LE(t.state().global_step, 4);
  EXPECT_FALSE(sorted_checkpoints(dir.path()).empty());
  for (const auto& ckpt : sorted_checkpoints(dir.path())) EXPECT_EQ(checkpoint_problem(ckpt), "") << ckpt;
}

}  // namespace
}  // namespace trainer

namespace trainer {
namespace {

std::vector<std::string> rotate_case(const std::vector<int>& steps, int64_t limit, std::optional<int> best) {
  testing::TempDir dir;
  for (int s : steps) fs::create_directories(dir / checkpoint_dir_name(s));
  std::optional<std::string> best_path;
  if (best) best_path = (dir / checkpoint_dir_name(*best)).string();
  rotate_checkpoints(dir.path(), limit, best_path);
  std::vector<std::string> left;
  for (const auto& p : sorted_checkpoints(dir.path())) left.push_back(p.filename().string());
  return left;
}

TEST(Checkpoints, RotationNeverDeletesTheBest) {
  using V = std::vector<std::string>;
  EXPECT_EQ(rotate_case({1, 2, 3, 4, 5}, 2, std::nullopt), (V{"checkpoint-4", "checkpoint-5"}));
  EXPECT_EQ(rotate_case({1, 2, 3, 4, 5}, 2, 1), (V{"checkpoint-1", "checkpoint-5"}));
  EXPECT_EQ(rotate_case({1, 2, 3, 4, 5}, 3, 2), (V{"checkpoint-2", "checkpoint-4", "checkpoint-5"}));
  EXPECT_EQ(rotate_case({1, 2, 3, 4, 5}, 2, 5), (V{"checkpoint-4", "checkpoint-5"}));
  // With a limit of 1 the newest stays beside the best, so the run remains resumable.
  EXPECT_EQ(rotate_case({1, 2, 3}, 1, 1), (V{"checkpoint-1", "checkpoint-3"}));
  EXPECT_EQ(rotate_case({1, 2, 3}, 1, 3), (V{"checkpoint-3"}));
  EXPECT_EQ(rotate_case({10, 2, 30}, 1, std::nullopt), (V{"checkpoint-30"}));  // numeric, not text, order
  EXPECT_EQ(rotate_case({1, 2}, 5, 1), (V{"checkpoint-1", "checkpoint-2"}));
  EXPECT_EQ(rotate_case({1, 2, 3}, 0, std::nullopt), (V{"checkpoint-1", "checkpoint-2", "checkpoint-3"}));
}

}  // namespace
}  // namespace trainer
