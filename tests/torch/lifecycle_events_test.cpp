// The two events beyond the original: on_checkpoint_published (a checkpoint is complete on disk)
// and on_exception (training is failing).

#include <gtest/gtest.h>

#include <fstream>

#include "test_support.h"
#include "torch_test_support.h"
#include "trainer/core/trainer_state.h"
#include "trainer/torch/checkpoint.h"
#include "trainer/torch/models.h"
#include "trainer/torch/trainer.h"

namespace trainer {
namespace {

namespace fs = std::filesystem;

// The original's events by name, and the checkpoints published, in order.
struct EventLog : TrainerCallback {
  std::vector<std::string> events;
  std::vector<std::string> published;
  void note(const std::string& e, const TrainerState& s) { events.push_back(e + " " + std::to_string(s.global_step)); }
  void on_train_begin(const Args&, TrainerState& s, TrainerControl&, CallbackContext&) override {
    note("train_begin", s);
  }
  void on_step_end(const Args&, TrainerState& s, TrainerControl&, CallbackContext&) override { note("step_end", s); }
  void on_log(const Args&, TrainerState& s, TrainerControl&, CallbackContext&) override { note("log", s); }
  void on_evaluate(const Args&, TrainerState& s, TrainerControl&, CallbackContext&) override { note("evaluate", s); }
  void on_save(const Args&, TrainerState& s, TrainerControl&, CallbackContext&) override { note("save", s); }
  void on_train_end(const Args&, TrainerState& s, TrainerControl&, CallbackContext&) override { note("train_end", s); }
  void on_checkpoint_published(const Args&, TrainerState&, TrainerControl&, CallbackContext& ctx) override {
    published.push_back(fs::path(ctx.checkpoint_dir).filename().string());
  }
};

// Uploads each published checkpoint by copying it, checking every file against its manifest first.
struct Uploader : TrainerCallback {
  fs::path bucket;
  std::vector<std::string> problems;
  int uploads = 0;
  void on_checkpoint_published(const Args&, TrainerState&, TrainerControl&, CallbackContext& ctx) override {
    const fs::path dir = ctx.checkpoint_dir;
    if (auto problem = checkpoint_problem(dir); !problem.empty()) problems.push_back(dir.string() + ": " + problem);
    fs::copy(dir, bucket / dir.filename(), fs::copy_options::recursive);
    ++uploads;
  }
};

struct SavingRun {
  std::vector<std::string> events, published;
  int uploads = 0;
  std::vector<std::string> problems;
  fs::path bucket;
};

// Big enough (about 1 MB of weights and optimizer state per checkpoint) that the background write
// is still going when on_save fires.
SavingRun train_saving(const fs::path& out, bool save_async) {
  auto args = testing::quiet_args(out);
  args.save_strategy = SaveStrategy::steps;
  args.save_steps = 3;
  args.eval_strategy = IntervalStrategy::steps;
  args.eval_steps = 4;
  args.save_async = save_async;
  auto log = std::make_shared<EventLog>();
  auto uploader = std::make_shared<Uploader>();
  uploader->bucket = out / "bucket";
  fs::create_directories(uploader->bucket);
  auto gen = at::detail::createCPUGenerator(7);
  auto x = torch::randn({96, 512}, gen);
  auto data = std::make_shared<TensorDataset>(x, x.slice(1, 0, 3).argmax(1));
  Trainer t(make_builtin_model("mlp", 512, 3), args, data, data, {log, uploader});
  t.train();
  return {log->events, log->published, uploader->uploads, uploader->problems, uploader->bucket};
}

TEST(CheckpointPublished, AnAsyncUploadAlwaysFindsEveryFileAndTheEventOrderIsUnchanged) {
  testing::TempDir sync_dir, async_dir;
  const SavingRun sync_run = train_saving(sync_dir.path(), false);
  const SavingRun async_run = train_saving(async_dir.path(), true);
  EXPECT_EQ(async_run.events, sync_run.events);  // --save_async changes none of the original's events
  const std::vector<std::string> all = {"checkpoint-3", "checkpoint-6", "checkpoint-9", "checkpoint-12"};
  EXPECT_EQ(sync_run.published, all);
  EXPECT_EQ(async_run.published, all);  // each one once, in order, before on_train_end
  EXPECT_EQ(async_run.uploads, 4);
  EXPECT_TRUE(async_run.problems.empty()) << async_run.problems.front();
  EXPECT_TRUE(sync_run.problems.empty()) << sync_run.problems.front();
  for (const auto& name : all) EXPECT_EQ(checkpoint_problem(async_run.bucket / name), "") << name;
}

TEST(CheckpointPublished, ItFollowsOnSaveAtOnceWhenSavingIsSynchronous) {
  testing::TempDir dir;
  struct Order : TrainerCallback {
    std::vector<std::string> seen;
    void on_save(const Args&, TrainerState& s, TrainerControl&, CallbackContext&) override {
      seen.push_back("save " + std::to_string(s.global_step));
    }
    void on_checkpoint_published(const Args&, TrainerState&, TrainerControl&, CallbackContext& ctx) override {
      seen.push_back("published " + fs::path(ctx.checkpoint_dir).filename().string());
    }
    void on_step_end(const Args&, TrainerState& s, TrainerControl&, CallbackContext&) override {
      seen.push_back("step " + std::to_string(s.global_step));
    }
  };
  auto order = std::make_shared<Order>();
  auto args = testing::quiet_args(dir.path());
  args.max_steps = 4;
  args.save_strategy = SaveStrategy::steps;
  args.save_steps = 2;
  Trainer t(make_builtin_model("mlp", 6, 3), args, testing::blobs(64, 1), nullptr, {order});
  t.train();
  const std::vector<std::string> want = {"step 1", "step 2", "save 2", "published checkpoint-2",
                                         "step 3", "step 4", "save 4", "published checkpoint-4"};
  EXPECT_EQ(order->seen, want);
}

// Sees the failure while train() is still unwinding.
struct FailureWatcher : TrainerCallback {
  std::vector<std::string> exceptions;
  bool train_ended = false;
  void on_exception(const Args&, TrainerState&, TrainerControl&, CallbackContext& ctx) override {
    exceptions.push_back(ctx.exception_message);
    EXPECT_TRUE(ctx.exception != nullptr);
  }
  void on_train_end(const Args&, TrainerState&, TrainerControl&, CallbackContext&) override { train_ended = true; }
};

struct ThrowAtStep : TrainerCallback {
  int64_t step;
  explicit ThrowAtStep(int64_t s) : step(s) {}
  void on_step_end(const Args&, TrainerState& s, TrainerControl&, CallbackContext&) override {
    if (s.global_step == step) throw std::runtime_error("boom at step " + std::to_string(step));
  }
};

struct ThrowsInOnException : TrainerCallback {
  void on_exception(const Args&, TrainerState&, TrainerControl&, CallbackContext&) override {
    throw std::runtime_error("second failure");
  }
};

TEST(OnException, ACallbacksErrorReachesEveryCallbackBeforeLeavingTrain) {
  testing::TempDir dir;
  auto watcher = std::make_shared<FailureWatcher>();
  testing::CapturedLogs logs;
  // The callback that throws in on_exception comes first: the watcher is still told, and the
  // original error is the one that leaves train().
  Trainer t(make_builtin_model("mlp", 6, 3), testing::quiet_args(dir.path()), testing::blobs(64, 1), nullptr,
            {std::make_shared<ThrowAtStep>(3), std::make_shared<ThrowsInOnException>(), watcher});
  try {
    t.train();
    FAIL() << "train() returned";
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(), "boom at step 3");
  }
  EXPECT_EQ(watcher->exceptions, std::vector<std::string>{"boom at step 3"});
  EXPECT_FALSE(watcher->train_ended);  // as in the original, on_train_end is not called
  EXPECT_TRUE(logs.contains("ThrowsInOnException.on_exception failed: second failure"));
}

TEST(OnException, DivergenceIsReportedToCallbacks) {
  testing::TempDir dir;
  auto watcher = std::make_shared<FailureWatcher>();
  auto data = testing::blobs(64, 1);
  data->inputs.fill_(std::numeric_limits<float>::quiet_NaN());
  auto args = testing::quiet_args(dir.path());
  args.logging_nan_inf_filter = false;
  Trainer t(make_builtin_model("mlp", 6, 3), args, data, nullptr, {watcher});
  EXPECT_THROW(t.train(), TrainingDivergedError);
  ASSERT_EQ(watcher->exceptions.size(), 1u);
  EXPECT_NE(watcher->exceptions[0].find("training diverged"), std::string::npos) << watcher->exceptions[0];
}

TEST(OnException, AFailedSaveIsReportedToCallbacks) {
  testing::TempDir dir;
  std::ofstream(dir / "not-a-directory") << "x";
  auto watcher = std::make_shared<FailureWatcher>();
  auto args = testing::quiet_args(dir / "not-a-directory" / "out");
  args.save_strategy = SaveStrategy::steps;
  args.save_steps = 2;
  args.save_async = true;  // the failure surfaces from the background writer
  Trainer t(make_builtin_model("mlp", 6, 3), args, testing::blobs(64, 1), nullptr, {watcher});
  EXPECT_ANY_THROW(t.train());
  ASSERT_EQ(watcher->exceptions.size(), 1u);
  EXPECT_NE(watcher->exceptions[0].find("not-a-directory"), std::string::npos) << watcher->exceptions[0];
}

}  // namespace
}  // namespace trainer
