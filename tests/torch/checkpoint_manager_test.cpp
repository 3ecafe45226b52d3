#include "trainer/torch/checkpoint_manager.h"

#include <gtest/gtest.h>

#include <torch/torch.h>

#include "test_support.h"
#include "torch_test_support.h"
#include "trainer/core/argument_spec.h"
#include "trainer/core/callback_handler.h"
#include "trainer/core/lr_scheduler.h"
#include "trainer/core/process_info.h"
#include "trainer/core/trainer_control.h"
#include "trainer/torch/checkpoint.h"
#include "trainer/torch/distributed/data_parallel.h"
#include "trainer/torch/models.h"
#include "trainer/torch/optimizers.h"

namespace trainer {
namespace {

namespace fs = std::filesystem;

// A callback with state, to see it saved and restored in place.
class CountingCallback : public TrainerCallback, public ExportableState {
 public:
  int count = 0;
  std::string name() const override { return "CountingCallback"; }
  Json state() const override { return Json{{"args", Json::object()}, {"attributes", {{"count", count}}}}; }
  void load_state(const Json& s) override { count = s["attributes"]["count"].get<int>(); }
};

// The objects a Trainer would own, on one process, with the manager over them.
struct ManagerFixture : ::testing::Test {
  testing::TempDir dir;
  TrainingArguments args = make_args();
  ProcessInfo process;
  std::shared_ptr<Model> model = make_builtin_model("mlp", 6, 3);
  std::unique_ptr<torch::optim::Optimizer> optimizer = create_optimizer(args, *model);
  std::unique_ptr<LRScheduler> scheduler = get_scheduler(
      SchedulerType::linear, {args.learning_rate},
      [this](size_t group, double lr) { set_group_learning_rate(*optimizer, group, lr); }, 0, 100);
  std::unique_ptr<DataParallelStrategy> parallel =
      DataParallelStrategy::create(process, args, *model, torch::Device(torch::kCPU));
  CallbackHandler callbacks;
  std::shared_ptr<CountingCallback> counting = std::make_shared<CountingCallback>();
  TrainerState state;
  TrainerControl control;
  CheckpointManager manager{args, process};

  TrainingArguments make_args() {
    auto a = testing::quiet_args(dir.path());
    a.save_total_limit = 2;
    a.finalize();
    return a;
  }
  void SetUp() override {
    callbacks.add_callback(counting);
    state.is_world_process_zero = true;
    state.is_local_process_zero = true;
    state.max_steps = 100;
    manager.begin_run();
  }
  CheckpointSubjects subjects() { return {*model, *optimizer, *scheduler, *parallel, callbacks, state, control}; }
  // One optimizer step on random data, then a checkpoint at `step`.
  void train_and_save(int64_t step) {
    auto batch = testing::blobs(16, static_cast<uint64_t>(step));
    torch::nn::functional::cross_entropy(model->forward(batch->inputs), batch->labels).backward();
    optimizer->step();
    optimizer->zero_grad();
    scheduler->step();
    state.global_step = step;
    LoopState loop = LoopState::start(torch::kCPU, 0);
    manager.save(subjects(), loop, loop.read_accumulators(), 16);
    manager.finish_writing(callbacks, state, control);
  }
};

TEST_F(ManagerFixture, SavesRotatesKeepingTheBestAndPublishes) {
  std::vector<std::string> published;
  struct Recorder : TrainerCallback {
    std::vector<std::string>* out;
    void on_checkpoint_published(const Args&, TrainerState&, TrainerControl&, CallbackContext& c) override {
      out->push_back(fs::path(c.checkpoint_dir).filename().string());
    }
  };
  auto recorder = std::make_shared<Recorder>();
  recorder->out = &published;
  callbacks.add_callback(recorder);
  state.best_global_step = 1;  // the first checkpoint is the best: rotation keeps it
  for (int64_t step = 1; step <= 4; ++step) train_and_save(step);
  std::vector<std::string> kept;
  for (const auto& c : sorted_checkpoints(dir.path())) kept.push_back(c.filename().string());
  EXPECT_EQ(kept, (std::vector<std::string>{"checkpoint-1", "checkpoint-4"}));
  EXPECT_EQ(published, (std::vector<std::string>{"checkpoint-1", "checkpoint-2", "checkpoint-3", "checkpoint-4"}));
  EXPECT_EQ(manager.saves(), 4);
  EXPECT_EQ(*state.best_model_checkpoint, (dir.path() / "checkpoint-1").string());
  for (const char* file : {"model.safetensors", "optimizer.safetensors", "scheduler.json", "trainer_state.json",
                           "training_args.json", "loop_state.json"})
    EXPECT_TRUE(fs::exists(dir.path() / "checkpoint-4" / file)) << file;
}

TEST_F(ManagerFixture, RestoresWeightsStateAndCallbacksFromTheLastCheckpoint) {
  counting->count = 7;
  train_and_save(3);
  const auto saved_weights = model->state_dict();
  const double saved_lr = group_learning_rate(*optimizer, 0);
  // Everything changes after the save ...
  counting->count = 0;
  train_and_save(5);
  fs::remove_all(dir.path() / "checkpoint-5");
  state = TrainerState{};
  state.max_steps = 100;
  state.is_world_process_zero = true;
  // ... and comes back from checkpoint-3.
  auto resume = manager.find_resume_point(std::string("last"), torch::kCPU);
  ASSERT_TRUE(resume.has_value());
  EXPECT_EQ(resume->dir.filename(), "checkpoint-3");
  LoopState loop = LoopState::start(torch::kCPU, 0);
  manager.restore(*resume, subjects(), loop);
  EXPECT_EQ(state.global_step, 3);
  EXPECT_EQ(state.max_steps, 100);  // the run's plan, not the checkpoint's
  EXPECT_EQ(counting->count, 7);
  EXPECT_DOUBLE_EQ(group_learning_rate(*optimizer, 0), saved_lr);
  const auto restored = model->state_dict();
  ASSERT_EQ(restored.size(), saved_weights.size());
  for (size_t i = 0; i < restored.size(); ++i) EXPECT_TRUE(restored[i].second.equal(saved_weights[i].second));
}

TEST_F(ManagerFixture, RefusesACheckpointOfOtherData) {
  train_and_save(2);
  auto resume = manager.find_resume_point(std::string("last"), torch::kCPU);
  ASSERT_TRUE(resume.has_value());
  EXPECT_NO_THROW(manager.check_resume_compatible(*resume, 16));
  EXPECT_THROW(manager.check_resume_compatible(*resume, 17), ArgumentError);
}

TEST_F(ManagerFixture, NoCheckpointNamedAndNoneInTheFolderIsAnError) {
  EXPECT_FALSE(manager.find_resume_point(std::string("false"), torch::kCPU).has_value());
  EXPECT_THROW(manager.find_resume_point(std::string("last"), torch::kCPU), ArgumentError);
  EXPECT_THROW(manager.find_resume_point((dir.path() / "nowhere").string(), torch::kCPU), ArgumentError);
}

TEST(CallbackStates, DuplicatesBecomeAListAndComeBackInOrder) {
  CallbackHandler callbacks;
  auto first = std::make_shared<CountingCallback>(), second = std::make_shared<CountingCallback>();
  first->count = 1;
  second->count = 2;
  callbacks.add_callback(first);
  callbacks.add_callback(second);
  TrainerControl control;
  control.should_training_stop = true;
  const Json stored = stateful_callback_states(callbacks, control);
  ASSERT_TRUE(stored["CountingCallback"].is_array());
  first->count = second->count = 0;
  TrainerControl restored;
  restore_callback_states(callbacks, restored, stored);
  EXPECT_EQ(first->count, 1);
  EXPECT_EQ(second->count, 2);
  EXPECT_TRUE(restored.should_training_stop);
}

}  // namespace
}  // namespace trainer
