// Bad input meets the Trainer: each case fails before training with an error naming the problem,
// or (resume, divergence) does the one right thing, and no checkpoint is damaged.

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>

#include "test_support.h"
#include "torch_test_support.h"
#include "trainer/callbacks/printer_callback.h"
#include "trainer/core/json.h"
#include "trainer/core/trainer_state.h"
#include "trainer/torch/checkpoint.h"
#include "trainer/torch/checkpoint_manifest.h"
#include "trainer/torch/models.h"
#include "trainer/torch/safetensors.h"
#include "trainer/torch/trainer.h"

namespace trainer {
namespace {

namespace fs = std::filesystem;
using testing::blobs;
using testing::quiet_args;

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}

// Every file under `dir` with its bytes, to prove that nothing changed.
std::map<std::string, std::string> snapshot(const fs::path& dir) {
  std::map<std::string, std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(dir))
    if (e.is_regular_file()) out[fs::relative(e.path(), dir).string()] = testing::read_file(e.path());
  return out;
}

TrainingArguments saving_args(const fs::path& dir, int64_t max_steps) {
  auto a = quiet_args(dir);
  a.max_steps = max_steps;
  a.save_strategy = SaveStrategy::steps;
  a.save_steps = 4;
  return a;
}

void train_run(TrainingArguments a, std::optional<std::string> resume = std::nullopt, int64_t examples = 64) {
  Trainer t(make_builtin_model("mlp", 6, 3), std::move(a), blobs(examples, 1));
  t.pop_callback<PrinterCallback>();
  t.train(resume);
}

TEST(Resume, AFinishedRunHasNothingToDoAndChangesNoFile) {
  testing::TempDir dir;
  train_run(saving_args(dir.path(), 8));
  const auto before = snapshot(dir.path());
  Trainer t(make_builtin_model("mlp", 6, 3), saving_args(dir.path(), 8), blobs(64, 1));
  t.pop_callback<PrinterCallback>();
  const auto out = t.train("last");
  EXPECT_TRUE(out.already_complete);
  EXPECT_EQ(out.global_step, 8);
  EXPECT_EQ(out.resumed_from, (dir / "checkpoint-8").string());
  EXPECT_EQ(t.state().global_step, 0) << "no state was loaded into the trainer, no event fired";
  EXPECT_EQ(snapshot(dir.path()), before);
  EXPECT_FALSE(fs::exists(dir / "checkpoint-9"));
}

TEST(Resume, ChangedArgumentsAreNamedAndOtherBatchesRefused) {
  testing::TempDir dir;
  train_run(saving_args(dir.path(), 4));
  {
    testing::CapturedLogs logs;
    auto a = saving_args(dir.path(), 8);
    a.learning_rate = 5e-3;
    train_run(a, "last");
    EXPECT_TRUE(logs.contains("--learning_rate: 0.005 now, 0.01 in the checkpoint")) << "the difference is named";
  }
  const auto before = snapshot(dir.path());
  auto b = saving_args(dir.path(), 12);
  b.per_device_train_batch_size = 8;
  const std::string err = error_of([&] { train_run(b, "last"); });
  EXPECT_NE(err.find("args.per_device_train_batch_size: 8 now, 16 in the checkpoint"), std::string::npos) << err;
  EXPECT_NE(err.find("args.force_resume"), std::string::npos) << err;
  EXPECT_EQ(snapshot(dir.path()), before) << "a refused resume writes nothing";
  const std::string data_err = error_of([&] { train_run(saving_args(dir.path(), 12), "last", 80); });
  EXPECT_NE(data_err.find("the training data: 80 examples now, 64 in the checkpoint"), std::string::npos) << data_err;
  b.force_resume = true;
  EXPECT_EQ(error_of([&] { train_run(b, "last"); }), "");
  EXPECT_TRUE(fs::exists(dir / "checkpoint-12"));
}

TEST(Resume, ADifferentModelIsRefusedByName) {
  testing::TempDir dir;
  train_run(saving_args(dir.path(), 4));
  Trainer t(make_builtin_model("mlp", 6, 5), saving_args(dir.path(), 8), blobs(64, 1));
  const std::string err = error_of([&] { t.train("last"); });
  EXPECT_NE(err.find("holds a different model"), std::string::npos) << err;
  EXPECT_NE(err.find("fc3.weight"), std::string::npos) << err;
}

TEST(Checkpoints, DamagedFilesAreNamedAtTheFieldAndLastFallsBack) {
  testing::TempDir dir;
  train_run(saving_args(dir.path(), 8));
  // A manifest lists every file with its size and checksum.
  const Json manifest = read_json_file(dir / "checkpoint-8" / kManifestFile);
  for (const char* f :
       {"model.safetensors", "optimizer.safetensors", "trainer_state.json", "loop_state.json", "rng_state.pth"})
    EXPECT_TRUE(manifest["files"].contains(f)) << f;

  // Random bytes in the weights' data, same size: caught by the checksum.
  {
    std::fstream f(dir / "checkpoint-8" / "model.safetensors", std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(-16, std::ios::end);
    f.write("garbagegarbage!!", 16);
  }
  EXPECT_NE(checkpoint_problem(dir / "checkpoint-8").find("model.safetensors does not match its checksum"),
            std::string::npos)
      << checkpoint_problem(dir / "checkpoint-8");
  // Fields: without the manifest, a broken file is still named with its field.
  fs::remove(dir / "checkpoint-4" / kManifestFile);
  std::ofstream(dir / "checkpoint-4" / "loop_state.json") << "{}";
  EXPECT_NE(checkpoint_problem(dir / "checkpoint-4").find("loop_state.json: field 'tr_loss' is missing"),
            std::string::npos)
      << checkpoint_problem(dir / "checkpoint-4");
  Json state = read_json_file(dir / "checkpoint-4" / "trainer_state.json");
  state["global_step"] = "four";
  std::ofstream(dir / "checkpoint-4" / "trainer_state.json") << dump_json(state);
  EXPECT_NE(checkpoint_problem(dir / "checkpoint-4")
                .find("trainer_state.json: field 'global_step': expected an integer, got \"four\""),
            std::string::npos)
      << checkpoint_problem(dir / "checkpoint-4");
  // Nothing good is left: "last" says so rather than train on garbage.
  EXPECT_EQ(latest_valid_checkpoint(dir.path()), std::nullopt);
}

TEST(Checkpoints, LastFallsBackPastACorruptedCheckpoint) {
  testing::TempDir dir;
  train_run(saving_args(dir.path(), 8));
  {
    std::fstream f(dir / "checkpoint-8" / "model.safetensors", std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(-4, std::ios::end);
    f.write("\x7f\x7f\x7f\x7f", 4);
  }
  testing::CapturedLogs logs;
  EXPECT_EQ(latest_valid_checkpoint(dir.path()), dir / "checkpoint-4");
  EXPECT_TRUE(logs.contains("checkpoint-8 cannot be resumed from (model.safetensors does not match its checksum"));
}

TEST(Validation, TheModelMustFitTheLabelsBeforeTheFirstStep) {
  testing::TempDir dir;
  auto a = saving_args(dir.path(), 8);
  Trainer narrow(make_builtin_model("mlp", 6, 2), a, blobs(64, 1));  // labels 0..2
  const std::string err = error_of([&] { narrow.train(); });
  EXPECT_NE(err.find("the model outputs 2 logits per example, but the labels go up to 2 (3 classes)"),
            std::string::npos)
      << err;
  EXPECT_EQ(narrow.state().global_step, 0);
  EXPECT_FALSE(fs::exists(dir / "checkpoint-4"));

  Trainer wrong_features(make_builtin_model("mlp", 5, 3), a, blobs(64, 1));
  EXPECT_NE(error_of([&] { wrong_features.train(); }).find("the model cannot take the training examples (shape [6])"),
            std::string::npos);
}

TEST(Validation, AModelWithoutTrainableParametersIsAnError) {
  testing::TempDir dir;
  auto model = make_builtin_model("mlp", 6, 3);
  for (auto& [name, p] : model->named_parameters()) p.set_requires_grad(false);
  Trainer t(model, quiet_args(dir.path()), blobs(64, 1));
  EXPECT_NE(error_of([&] { t.train(); }).find("the model has no trainable parameters"), std::string::npos);
}

TEST(Validation, EvaluationDataMustHaveTheTrainingFeatures) {
  testing::TempDir dir;
  auto a = quiet_args(dir.path());
  a.eval_strategy = IntervalStrategy::epoch;
  auto eval = std::make_shared<TensorDataset>(torch::randn({10, 4}), torch::zeros({10}, torch::kLong));
  Trainer t(make_builtin_model("mlp", 6, 3), a, blobs(64, 1), eval);
  const std::string err = error_of([&] { t.train(); });
  EXPECT_NE(err.find("the evaluation examples have shape [4], the training examples [6]"), std::string::npos) << err;
  EXPECT_EQ(t.state().global_step, 0) << "found before training, not at the first evaluation";
}

TEST(Validation, OptimizerOptionsAreChecked) {
  testing::TempDir dir;
  auto a = quiet_args(dir.path());
  a.optim = OptimizerNames::sgd;
  a.optim_args = "momentum=-1";
  Trainer t(make_builtin_model("mlp", 6, 3), a, blobs(64, 1));
  EXPECT_NE(error_of([&] { t.train(); }).find("args.optim_args: momentum must be a finite number >= 0, got '-1'"),
            std::string::npos);
}

TEST(Divergence, NoticedWithoutALogBeforeTheEnd) {
  testing::TempDir dir;
  auto a = quiet_args(dir.path());
  a.learning_rate = 1e30;
  a.max_steps = 5;
  a.logging_steps = 1000;
  Trainer t(make_builtin_model("mlp", 6, 3), a, blobs(64, 1));
  t.pop_callback<PrinterCallback>();
  EXPECT_THROW(t.train(), TrainingDivergedError);

  auto nan_data = blobs(64, 1);
  nan_data->inputs.fill_(NAN);
  auto b = quiet_args(dir.path());
  b.max_steps = 5;
  b.logging_steps = 1000;
  b.save_strategy = SaveStrategy::steps;
  b.save_steps = 3;
  Trainer u(make_builtin_model("mlp", 6, 3), b, nan_data);
  u.pop_callback<PrinterCallback>();
  EXPECT_THROW(u.train(), TrainingDivergedError);
  EXPECT_FALSE(fs::exists(dir / "checkpoint-3")) << "a diverged model is not saved";
}

struct StopAt : TrainerCallback {
  explicit StopAt(int64_t s) : step(s) {}
  int64_t step;
  void on_step_end(const Args&, TrainerState& s, TrainerControl& c, CallbackContext&) override {
    if (s.global_step == step) c.should_training_stop = true;
  }
};

TEST(SpeedMetrics, RatesCountTheStepsRunNotThePlan) {
  testing::TempDir dir;
  auto a = quiet_args(dir.path());
  a.max_steps = 400;
  Trainer t(make_builtin_model("mlp", 6, 3), a, blobs(64, 1), nullptr, {std::make_shared<StopAt>(40)});
  t.pop_callback<PrinterCallback>();
  const auto out = t.train();
  const double runtime = out.metrics["train_runtime"].get<double>();
  const double steps = out.metrics["train_steps_per_second"].get<double>() * runtime;
  const double samples = out.metrics["train_samples_per_second"].get<double>() * runtime;
  EXPECT_NEAR(steps, 40, 40 * 0.05 + 0.01) << out.metrics.dump();
  EXPECT_NEAR(samples, 40 * 16, 40 * 16 * 0.05 + 0.01) << out.metrics.dump();
}

TEST(FinalEvaluation, TheLoopsEvaluationAtTheLastStepIsReused) {
  testing::TempDir dir;
  auto a = quiet_args(dir.path());
  a.eval_strategy = IntervalStrategy::epoch;
  Trainer t(make_builtin_model("mlp", 6, 3), a, blobs(64, 1), blobs(32, 2), {}, compute_accuracy);
  t.pop_callback<PrinterCallback>();
  t.train();
  const auto reused = t.evaluation_of_current_weights();
  ASSERT_TRUE(reused.has_value()) << "the epoch-end evaluation saw the final weights";
  EXPECT_EQ((*reused)["epoch"], 2.0);
  EXPECT_FALSE(t.evaluation_of_current_weights(blobs(32, 3)).has_value()) << "another dataset was never evaluated";

  // An evaluation before training saw other weights.
  Trainer u(make_builtin_model("mlp", 6, 3), quiet_args(dir.path()), blobs(64, 1), blobs(32, 2), {}, compute_accuracy);
  u.pop_callback<PrinterCallback>();
  u.evaluate();
  EXPECT_TRUE(u.evaluation_of_current_weights().has_value());
  u.train();
  EXPECT_FALSE(u.evaluation_of_current_weights().has_value()) << "training changed the weights";
}

TEST(ModelConfig, IsJsonWithLayersAndSizes) {
  const Json c = make_builtin_model("mlp", 6, 3)->config();
  EXPECT_EQ(c["architecture"], "Mlp");
  EXPECT_EQ(c["num_parameters"], 6 * 256 + 256 + 256 * 128 + 128 + 128 * 3 + 3);
  ASSERT_EQ(c["layers"].size(), 3u);
  EXPECT_EQ(c["layers"][0]["name"], "fc1");
  EXPECT_NE(c["layers"][0]["layer"].get<std::string>().find("in_features=6, out_features=256"), std::string::npos)
      << c.dump();
}

}  // namespace
}  // namespace trainer
