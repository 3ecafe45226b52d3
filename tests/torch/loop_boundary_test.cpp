// The loop without the integrations: this test links trainer_loop alone, so it proves that the
// Trainer builds, trains and resumes without a tracker, and that it reaches --report_to and
// checkpoint sources only through core's interfaces (report_to.h, checkpoint_source.h).
#include <gtest/gtest.h>

#include "test_support.h"
#include "torch_test_support.h"
#include "trainer/core/argument_spec.h"
#include "trainer/core/checkpoint_source.h"
#include "trainer/core/report_to.h"
#include "trainer/torch/checkpoint.h"
#include "trainer/torch/models.h"
#include "trainer/torch/trainer.h"

namespace trainer {
namespace {

namespace fs = std::filesystem;
using testing::blobs;
using testing::quiet_args;

class NamedCallback : public TrainerCallback {
 public:
  explicit NamedCallback(std::string name) : name_(std::move(name)) {}
  std::string name() const override { return name_; }

 private:
  std::string name_;
};

std::vector<std::string> callback_names(Trainer& trainer) {
  std::vector<std::string> names;
  for (const auto& cb : trainer.callback_handler().callbacks()) names.push_back(cb->name());
  return names;
}

TEST(LoopWithoutTrackers, TrainsWithReportToNoneAndRefusesATrackerByName) {
  ASSERT_FALSE(has_report_to_resolver());  // nothing in this program installed the integrations
  testing::TempDir dir;
  auto args = quiet_args(dir.path());
  Trainer trainer(make_builtin_model("mlp", 6, 3), args, blobs(64, 1));
  EXPECT_GT(trainer.train().global_step, 0);

  args.report_to = {"tensorboard"};
  try {
    Trainer t(make_builtin_model("mlp", 6, 3), args, blobs(64, 1));
    FAIL() << "a tracker was named in a program without trackers";
  } catch (const ArgumentError& e) {
    EXPECT_NE(std::string(e.what()).find("tensorboard"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("no trackers"), std::string::npos) << e.what();
  }
}

TEST(LoopWithoutTrackers, AskedResolversCallbacksComeAfterFlowControlAndBeforeTheUsers) {
  std::vector<std::string> asked;
  set_report_to_resolver([&](const std::vector<std::string>& report_to) {
    asked = report_to;
    return std::vector<std::shared_ptr<TrainerCallback>>{std::make_shared<NamedCallback>("TrackerA"),
                                                         std::make_shared<NamedCallback>("TrackerB")};
  });
  testing::TempDir dir;
  auto args = quiet_args(dir.path());
  args.report_to = {"a", "b"};
  Trainer trainer(make_builtin_model("mlp", 6, 3), args, blobs(64, 1), nullptr,
                  {std::make_shared<NamedCallback>("Mine")});
  set_report_to_resolver(nullptr);
  EXPECT_EQ(asked, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(callback_names(trainer),
            (std::vector<std::string>{"DefaultFlowCallback", "TrackerA", "TrackerB", "Mine", "PrinterCallback"}));
}

// A source that restores a checkpoint kept elsewhere, as a retried job's previous attempt left it.
class CopyingSource : public CheckpointSource {
 public:
  explicit CopyingSource(fs::path kept) : kept_(std::move(kept)) {}
  std::string name() const override { return "copying"; }
  std::optional<fs::path> restore(const TrainingArguments& args) override {
    ++calls;
    if (kept_.empty()) return std::nullopt;
    const fs::path to = fs::path(args.output_dir) / kept_.filename();
    fs::create_directories(to);
    fs::copy(kept_, to, fs::copy_options::recursive | fs::copy_options::overwrite_existing);
    return to;
  }
  int calls = 0;

 private:
  fs::path kept_;
};

TEST(LoopWithoutTrackers, ResumesFromARegisteredCheckpointSourceWhenNoneIsNamed) {
  testing::TempDir first_dir, second_dir;
  auto args = quiet_args(first_dir.path());
  args.save_strategy = SaveStrategy::steps;
  args.save_steps = 4;
  args.max_steps = 4;
  Trainer first(make_builtin_model("mlp", 6, 3), args, blobs(64, 1));
  first.train();
  const fs::path kept = first_dir.path() / checkpoint_dir_name(4);
  ASSERT_TRUE(fs::exists(kept / "trainer_state.json"));

  auto source = std::make_shared<CopyingSource>(kept);
  register_checkpoint_source(source);
  auto retried = quiet_args(second_dir.path());
  retried.save_strategy = SaveStrategy::no;
  retried.max_steps = 6;
  Trainer second(make_builtin_model("mlp", 6, 3), retried, blobs(64, 1));
  const TrainOutput out = second.train();
  EXPECT_EQ(source->calls, 1);
  EXPECT_EQ(out.resumed_from, (second_dir.path() / checkpoint_dir_name(4)).string());
  EXPECT_EQ(out.global_step, 6);

  // A named checkpoint wins: the sources are not asked.
  Trainer named(make_builtin_model("mlp", 6, 3), retried, blobs(64, 1));
  named.train(std::string("false"));
  EXPECT_EQ(source->calls, 1);
  register_checkpoint_source(std::make_shared<CopyingSource>(fs::path()));  // replaces it by name: none
}

}  // namespace
}  // namespace trainer
