// NeptuneCallback: the deprecated integration's offline operation log, checkpoint modes,
// and its errors. The log's format end to end is checked by tests/cli/neptune_test.sh with an
// independent reader.
#include "trainer/integrations/neptune/neptune_callback.h"

#include <gtest/gtest.h>

#include <fstream>

#include "fake_run.h"
#include "scoped_env.h"
#include "test_support.h"
#include "trainer/core/argument_spec.h"

namespace trainer {
namespace {

namespace fs = std::filesystem;

// The operations of the one offline run under `data_dir`, in version order.
std::vector<Json> operations(const fs::path& data_dir) {
  std::vector<Json> out;
  for (const auto& run : fs::directory_iterator(data_dir / "offline")) {
    std::ifstream in(run.path() / "data-1.log");
    for (std::string line; std::getline(in, line);) out.push_back(parse_json(line).at("obj"));
  }
  return out;
}

std::vector<Json> of_type(const std::vector<Json>& ops, const std::string& type) {
  std::vector<Json> out;
  for (const auto& op : ops)
    if (op.at("type") == type) out.push_back(op);
  return out;
}

class NeptuneTest : public ::testing::Test {
 protected:
  void SetUp() override {
    env.set("NEPTUNE_DATA_DIRECTORY", (tmp.path() / "nep").string()).unset("NEPTUNE_MODE").unset("NEPTUNE_API_TOKEN");
  }
  testing::ScopedEnv env;
  testing::TempDir tmp;
};

// Evaluations with these losses, each followed by a checkpoint, as the Trainer orders them.
void evaluate_and_save(TrainerCallback& cb, testing::FakeRun& run, const std::vector<double>& losses) {
  int64_t step = 0;
  for (double loss : losses) {
    step += 10;
    run.state.global_step = step;
    Json metrics{{"eval_loss", loss}};
    run.ctx.metrics = &metrics;
    cb.on_evaluate(run.args, run.state, run.control, run.ctx);
    run.ctx.metrics = nullptr;
    if (!run.state.best_metric || loss < *run.state.best_metric) run.state.best_metric = loss;
    cb.on_save(run.args, run.state, run.control, run.ctx);
    run.publish_checkpoint(cb, step, {{"model.safetensors", "w" + std::to_string(step)}});
  }
}

TEST_F(NeptuneTest, BestUploadsOnlyImprovementsAndDeletesThePreviousOne) {
  NeptuneOptions options;
  options.log_checkpoints = NeptuneCheckpoints::best;
  options.api_token = "secret-neptune-token";
  NeptuneCallback cb(options);
  testing::FakeRun run;
  run.args.output_dir = (tmp.path() / "out").string();
  run.args.load_best_model_at_end = true;
  cb.on_init_end(run.args, run.state, run.control, run.ctx);
  cb.on_train_begin(run.args, run.state, run.control, run.ctx);
  evaluate_and_save(cb, run, {0.5, 0.7, 0.3});
  cb.on_train_end(run.args, run.state, run.control, run.ctx);
  const auto ops = operations(tmp.path() / "nep");
  const auto uploads = of_type(ops, "UploadFileSet");
  ASSERT_EQ(uploads.size(), 2u);  // 0.5 (the first) and 0.3; not 0.7
  EXPECT_EQ(uploads[0].at("path"), (Json{"finetuning", "checkpoints", "best"}));
  EXPECT_EQ(fs::path(uploads[1].at("file_globs")[0].get<std::string>()).filename(), "checkpoint-30");
  EXPECT_EQ(testing::read_file(fs::path(uploads[1].at("file_globs")[0].get<std::string>()) / "model.safetensors"),
            "w30");
  const auto deletes = of_type(ops, "DeleteFiles");
  ASSERT_EQ(deletes.size(), 1u);
  EXPECT_EQ(deletes[0].at("file_paths"), (Json{"checkpoint-10"}));
  for (const auto& e : fs::recursive_directory_iterator(tmp.path()))
    if (e.is_regular_file())
      EXPECT_EQ(testing::read_file(e.path()).find("secret-neptune-token"), std::string::npos) << e.path();
}

TEST_F(NeptuneTest, LogsAreSeriesAtTheStepAndEpochIsAssigned) {
  NeptuneCallback cb;
  testing::FakeRun run;
  run.args.output_dir = (tmp.path() / "out").string();
  cb.on_train_begin(run.args, run.state, run.control, run.ctx);
  run.log(cb, 5, Json{{"loss", 0.5}, {"epoch", 0.25}, {"note", "text"}});
  run.log(cb, 10, Json{{"loss", 0.25}, {"epoch", 0.5}});
  cb.on_train_end(run.args, run.state, run.control, run.ctx);
  const auto ops = operations(tmp.path() / "nep");
  const auto series = of_type(ops, "LogFloats");
  ASSERT_EQ(series.size(), 2u);  // train/loss twice; the string left out
  EXPECT_EQ(series[1].at("path"), (Json{"finetuning", "train", "loss"}));
  EXPECT_EQ(series[1].at("values")[0].at("value"), 0.25);
  EXPECT_EQ(series[1].at("values")[0].at("step"), 10.0);
  Json epoch;
  for (const auto& op : of_type(ops, "AssignFloat"))
    if (op.at("path") == Json{"finetuning", "train", "epoch"}) epoch = op.at("value");
  EXPECT_EQ(epoch, 0.5);
}

TEST_F(NeptuneTest, BadChoicesAreRefusedByName) {
  EXPECT_THROW(parse_neptune_checkpoints("sometimes"), ArgumentError);
  EXPECT_EQ(parse_neptune_checkpoints("LAST"), NeptuneCheckpoints::last);
  NeptuneOptions options;
  options.log_checkpoints = NeptuneCheckpoints::best;
  NeptuneCallback cb(options);
  testing::FakeRun run;
  try {
    cb.on_init_end(run.args, run.state, run.control, run.ctx);
    FAIL() << "no error";
  } catch (const ArgumentError& e) {
    EXPECT_NE(e.command_line_message().find("log_checkpoints=best needs --load_best_model_at_end true"),
              std::string::npos);
    EXPECT_NE(std::string(e.what()).find("args.load_best_model_at_end"), std::string::npos);
  }
}

TEST_F(NeptuneTest, TheDeprecationIsSaidOnce) {
  testing::CapturedLogs logs;
  NeptuneCallback a, b;
  int said = 0;
  for (const auto& m : logs.messages) said += m.find("deprecated") != std::string::npos;
  EXPECT_LE(said, 1);  // once per process (an earlier test may have said it already)
}

}  // namespace
}  // namespace trainer
