#include "trainer/torch/trainer.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "test_support.h"
#include "torch_test_support.h"
#include "trainer/callbacks/default_flow_callback.h"
#include "trainer/callbacks/early_stopping_callback.h"
#include "trainer/callbacks/printer_callback.h"
#include "trainer/core/argument_spec.h"
#include "trainer/core/json.h"
#include "trainer/core/trainer_state.h"
#include "trainer/integrations/builtin_integrations.h"
#include "trainer/torch/checkpoint.h"
#include "trainer/torch/device.h"
#include "trainer/torch/models.h"
#include "trainer/torch/optimizers.h"
#include "trainer/torch/safetensors.h"

#include <ATen/autocast_mode.h>

namespace trainer {
namespace {

namespace fs = std::filesystem;
using testing::blobs;
using testing::quiet_args;

// Quiet: removes the printer so test output stays readable.
void silence(Trainer& t) { t.pop_callback<PrinterCallback>(); }

std::vector<std::string> keys(const Json& j) {
  std::vector<std::string> out;
  for (auto it = j.begin(); it != j.end(); ++it) out.push_back(it.key());
  return out;
}

TEST(Trainer, LearnsAndLogsTheOriginalsKeys) {
  testing::TempDir dir;
  Trainer t(make_builtin_model("mlp", 6, 3), quiet_args(dir.path()), blobs(512, 1), blobs(256, 2), {},
            compute_accuracy);
  silence(t);
  auto out = t.train();
  EXPECT_EQ(out.global_step, 64);
  auto metrics = t.evaluate();
  EXPECT_GT(metrics["eval_accuracy"].get<double>(), 0.85);
  EXPECT_EQ(keys(metrics), (std::vector<std::string>{"eval_loss", "eval_accuracy", "eval_runtime",
                                                     "eval_samples_per_second", "eval_steps_per_second", "epoch"}));
  const Json& history = t.state().log_history;
  EXPECT_EQ(keys(history[0]), (std::vector<std::string>{"loss", "grad_norm", "learning_rate", "epoch", "step"}));
  const Json& final_log = history[history.size() - 2];
  EXPECT_EQ(keys(final_log),
            (std::vector<std::string>{"train_runtime", "train_samples_per_second", "train_steps_per_second",
                                      "total_flos", "train_loss", "epoch", "step"}));
  EXPECT_EQ(final_log["step"], 64);
  EXPECT_DOUBLE_EQ(final_log["epoch"].get<double>(), 2.0);
  EXPECT_NEAR(out.training_loss, final_log["train_loss"].get<double>(), 0);
  EXPECT_GT(final_log["total_flos"].get<double>(), 0);
  EXPECT_EQ(history.back()["step"], 64);  // the evaluate() after training logs too
}

TEST(Trainer, ACheckpointCountsTheFlosOfEveryStepItHolds) {
  // The original's _save_checkpoint starts with store_flos(): saved between two logs, the
  // checkpoint's total_flos still covers its steps. Logs come at steps 5 and 10; the checkpoint at
  // the last step, 12, must hold all 12 steps' flos, as the end of training counts them (without
  // store_flos it would hold 10 steps' worth).
  testing::TempDir dir;
  auto a = quiet_args(dir.path());
  a.max_steps = 12;
  a.save_strategy = SaveStrategy::steps;
  a.save_steps = 12;
  Trainer t(make_builtin_model("mlp", 6, 3), a, blobs(512, 1), nullptr, {}, compute_accuracy);
  silence(t);
  t.train();
  const Json saved = read_json_file(dir.path() / "checkpoint-12" / "trainer_state.json");
  EXPECT_GT(saved["total_flos"].get<double>(), 0);
  EXPECT_DOUBLE_EQ(saved["total_flos"].get<double>(), t.state().total_flos);
}

TEST(Trainer, LoggedLossIsTheMeanOfStepLossesAndLearningRateTheOneUsed) {
  struct Recording : Trainer {
    using Trainer::Trainer;
    std::vector<double> micro_losses;
    torch::Tensor training_step(Model& m, const Batch& b) override {
      auto l = Trainer::training_step(m, b);
      micro_losses.push_back(l.item<double>());
      return l;
    }
  };
  testing::TempDir dir;
  auto args = quiet_args(dir.path());
  args.gradient_accumulation_steps = 3;
  args.max_steps = 8;
  args.logging_steps = 4;
  args.learning_rate = 0.1;
  args.optim = OptimizerNames::sgd;
  Recording t(make_builtin_model("mlp", 6, 3), args, blobs(160, 3));  // 10 batches: groups of 3,3,3,1
  silence(t);
  t.train();
  const Json& h = t.state().log_history;
  ASSERT_EQ(h.size(), 3u);
  // Steps 1-4 use micro-batches 0-9 (the 4th step is the single-batch group at the epoch's end).
  double sum = 0;
  for (int i = 0; i < 10; ++i) sum += t.micro_losses[i];
  EXPECT_NEAR(h[0]["loss"].get<double>(), sum / 4, 1e-6);
  // Linear decay over 8 steps: the 4th step used lr * (8 - 3) / 8.
  EXPECT_DOUBLE_EQ(h[0]["learning_rate"].get<double>(), 0.1 * 5 / 8);
  EXPECT_DOUBLE_EQ(h[1]["learning_rate"].get<double>(), 0.1 * 1 / 8);
  EXPECT_DOUBLE_EQ(h[0]["epoch"].get<double>(), 1.0);
}

TEST(Trainer, NoGradNormWithoutClippingAndOneHostReadPerLog) {
  testing::TempDir dir;
  auto args = quiet_args(dir.path());
  args.max_grad_norm = 0;
  args.max_steps = 20;
  args.logging_steps = 10;
  Trainer t(make_builtin_model("mlp", 6, 3), args, blobs(400, 4));
  silence(t);
  t.train();
  for (const auto& entry : t.state().log_history) EXPECT_FALSE(entry.contains("grad_norm"));
  // Two logs and the end of training; no read in any other step.
  EXPECT_EQ(t.host_reads(), 3);
}

TEST(Trainer, ClipsGradientsToMaxGradNorm) {
  struct CheckNorm : TrainerCallback {
    double max_seen = 0;
    void on_pre_optimizer_step(const Args&, TrainerState&, TrainerControl&, CallbackContext& ctx) override {
      double sq = 0;
      for (auto& [n, p] : ctx.model->named_parameters()) sq += p.grad().pow(2).sum().item<double>();
      max_seen = std::max(max_seen, std::sqrt(sq));
    }
  };
  testing::TempDir dir;
  auto args = quiet_args(dir.path());
  args.max_grad_norm = 0.01;
  args.max_steps = 5;
  auto check = std::make_shared<CheckNorm>();
  Trainer t(make_builtin_model("mlp", 6, 3), args, blobs(200, 5), nullptr, {check});
  silence(t);
  t.train();
  EXPECT_LE(check->max_seen, 0.01 * (1 + 1e-4));
  EXPECT_GT(check->max_seen, 0.005);
}

TEST(Trainer, CallbacksCanChangeGradientsAndLogs) {
  struct ZeroGrads : TrainerCallback {
    void on_pre_optimizer_step(const Args&, TrainerState&, TrainerControl&, CallbackContext& ctx) override {
      for (auto& [n, p] : ctx.model->named_parameters()) p.grad().zero_();
    }
    void on_log(const Args&, TrainerState&, TrainerControl&, CallbackContext& ctx) override {
      (*ctx.logs)["custom"] = 1;
    }
  };
  testing::TempDir dir;
  auto args = quiet_args(dir.path());
  args.optim = OptimizerNames::sgd;
  args.max_steps = 5;
  auto model = make_builtin_model("mlp", 6, 3);
  auto before = model->named_parameters()[0].second.clone();
  Trainer t(model, args, blobs(200, 6), nullptr, {std::make_shared<ZeroGrads>()});
  silence(t);
  t.train();
  EXPECT_TRUE(torch::equal(before, model->named_parameters()[0].second));
  // on_log runs after the history entry was appended: edits show to later callbacks, not in history.
  for (const auto& entry : t.state().log_history) EXPECT_FALSE(entry.contains("custom"));
}

TEST(Trainer, SameSeedSameRunDifferentSeedDifferentRun) {
  auto run = [](int64_t seed) {
    testing::TempDir dir;
    auto args = quiet_args(dir.path());
    args.seed = seed;
    set_seed(seed);
    auto model = make_builtin_model("mlp", 6, 3);
    Trainer t(model, args, blobs(200, 7));
    silence(t);
    t.train();
    return std::make_pair(model->named_parameters()[0].second.clone(), t.state().log_history[0]["loss"].get<double>());
  };
  auto a = run(1), b = run(1), c = run(2);
  EXPECT_TRUE(torch::equal(a.first, b.first));
  EXPECT_EQ(a.second, b.second);
  EXPECT_FALSE(torch::equal(a.first, c.first));
}

TEST(Trainer, CheckpointsHaveTheOriginalsLayoutAndRotationKeepsTheBest) {
  testing::TempDir dir;
  auto args = quiet_args(dir.path());
  args.max_steps = 12;
  args.save_strategy = SaveStrategy::steps;
  args.save_steps = 2;
  args.eval_strategy = IntervalStrategy::steps;
  args.eval_steps = 2;
  args.save_total_limit = 2;
  args.metric_for_best_model = "loss";
  args.learning_rate = 0;  // the loss never improves: step 2 stays the best
  Trainer t(make_builtin_model("mlp", 6, 3), args, blobs(200, 8), blobs(64, 9));
  silence(t);
  t.train();
  std::vector<std::string> names;
  for (const auto& p : sorted_checkpoints(dir.path())) names.push_back(p.filename().string());
  EXPECT_EQ(names, (std::vector<std::string>{"checkpoint-2", "checkpoint-12"}));
  const auto ckpt = dir / "checkpoint-12";
  for (auto f : {"model.safetensors", "trainer_state.json", "training_args.json", "optimizer.safetensors",
                 "scheduler.json", "rng_state.pth", "loop_state.json"})
    EXPECT_TRUE(fs::exists(ckpt / f)) << f;
  auto state = TrainerState::load_from_json(ckpt / "trainer_state.json");
  EXPECT_EQ(state.global_step, 12);
  EXPECT_EQ(state.best_global_step, 2);
  EXPECT_EQ(*state.best_model_checkpoint, (dir / "checkpoint-2").string());
  EXPECT_EQ(state.stateful_callbacks["TrainerControl"]["args"]["should_save"], true);
  EXPECT_EQ(state.stateful_callbacks["TrainerControl"]["args"]["should_training_stop"], true);
  auto weights = load_safetensors(ckpt / "model.safetensors");
  EXPECT_EQ(weights.size(), 6u);
  // No temporary directories are left behind.
  for (const auto& e : fs::directory_iterator(dir.path()))
    EXPECT_EQ(e.path().filename().string().rfind(".", 0), std::string::npos);
}

TEST(Trainer, LoadBestModelAtEndRestoresTheBestWeights) {
  testing::TempDir dir;
  auto args = quiet_args(dir.path());
  args.max_steps = 6;
  args.eval_strategy = IntervalStrategy::steps;
  args.eval_steps = 2;
  args.save_strategy = SaveStrategy::steps;
  args.save_steps = 2;
  args.load_best_model_at_end = true;
  args.metric_for_best_model = "accuracy";
  auto model = make_builtin_model("mlp", 6, 3);
  Trainer t(model, args, blobs(200, 10), blobs(64, 11), {}, compute_accuracy);
  silence(t);
  t.train();
  ASSERT_TRUE(t.state().best_model_checkpoint);
  auto best = load_safetensors(fs::path(*t.state().best_model_checkpoint) / "model.safetensors");
  auto now = model->state_dict();
  for (size_t i = 0; i < best.size(); ++i) EXPECT_TRUE(torch::equal(best[i].second, now[i].second)) << best[i].first;
}

TEST(Trainer, EarlyStoppingEndsTrainingAndItsStateIsSaved) {
  testing::TempDir dir;
  auto args = quiet_args(dir.path());
  args.num_train_epochs = 10;
  args.eval_strategy = IntervalStrategy::epoch;
  args.save_strategy = SaveStrategy::epoch;
  args.metric_for_best_model = "loss";
  args.learning_rate = 0;  // no improvement after the first evaluation
  auto es = std::make_shared<EarlyStoppingCallback>(2);
  testing::CapturedLogs logs;
  Trainer t(make_builtin_model("mlp", 6, 3), args, blobs(64, 12), blobs(32, 13), {es});
  silence(t);
  auto out = t.train();
  EXPECT_EQ(out.global_step, 3 * 4);  // stops at the third evaluation (epoch 3)
  auto state = TrainerState::load_from_json(dir / "checkpoint-12" / "trainer_state.json");
  EXPECT_EQ(state.stateful_callbacks["EarlyStoppingCallback"]["attributes"]["early_stopping_patience_counter"], 2);
  EXPECT_EQ(state.stateful_callbacks["EarlyStoppingCallback"]["args"]["early_stopping_patience"], 2);
}

TEST(Trainer, PredictFiresOnPredictAndDoesNotLog) {
  struct Count : TrainerCallback {
    int predicts = 0;
    void on_predict(const Args&, TrainerState&, TrainerControl&, CallbackContext& ctx) override {
      ++predicts;
      EXPECT_TRUE(ctx.metrics->contains("test_loss"));
    }
  };
  testing::TempDir dir;
  auto count = std::make_shared<Count>();
  Trainer t(make_builtin_model("mlp", 6, 3), quiet_args(dir.path()), blobs(64, 14), nullptr, {count}, compute_accuracy);
  silence(t);
  auto out = t.predict(blobs(50, 15));
  EXPECT_EQ(out.predictions.sizes(), (std::vector<int64_t>{50, 3}));
  EXPECT_EQ(out.label_ids.size(0), 50);
  EXPECT_TRUE(out.metrics.contains("test_accuracy"));
  EXPECT_EQ(count->predicts, 1);
  EXPECT_TRUE(t.state().log_history.empty());
}

TEST(Trainer, NanLossIsAClearError) {
  testing::TempDir dir;
  auto args = quiet_args(dir.path());
  args.max_steps = 10;
  auto data = blobs(160, 16);
  data->inputs.fill_(NAN);
  Trainer t(make_builtin_model("mlp", 6, 3), args, data);
  silence(t);
  try {
    t.train();
    FAIL() << "expected TrainingDivergedError";
  } catch (const TrainingDivergedError& e) {
    EXPECT_NE(std::string(e.what()).find("NaN"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("--learning_rate"), std::string::npos);
  }
}

TEST(Trainer, SomeNanLossesAreFilteredFromTheLog) {
  testing::TempDir dir;
  auto args = quiet_args(dir.path());
  args.max_steps = 4;
  args.logging_steps = 4;
  args.optim = OptimizerNames::sgd;
  args.max_grad_norm = 0;
  args.train_sampling_strategy = "sequential";
  auto data = blobs(64, 17);
  data->inputs[20].fill_(NAN);  // batch 1 of 4
  // Keeps the weights finite despite the NaN batch; only the logging filter is under test.
  struct DropNanGrads : TrainerCallback {
    void on_pre_optimizer_step(const Args&, TrainerState&, TrainerControl&, CallbackContext& ctx) override {
      for (auto& [n, p] : ctx.model->named_parameters()) p.grad().nan_to_num_(0.0, 0.0, 0.0);
    }
  };
  testing::CapturedLogs logs;
  Trainer t(make_builtin_model("mlp", 6, 3), args, data, nullptr, {std::make_shared<DropNanGrads>()});
  silence(t);
  t.train();
  EXPECT_TRUE(std::isfinite(t.state().log_history[0]["loss"].get<double>()));
  EXPECT_TRUE(logs.contains("1 of the last 4 micro-batch losses"));
}

TEST(Trainer, PrefetchingWorkersGiveTheSameRun) {
  auto run = [](int64_t workers) {
    testing::TempDir dir;
    auto args = quiet_args(dir.path());
    args.dataloader_num_workers = workers;
    if (workers > 0) args.dataloader_prefetch_factor = 3;
    args.max_steps = 45;  // stops mid-epoch: the prefetcher is dropped with batches in flight
    set_seed(3);
    auto model = make_builtin_model("mlp", 6, 3);
    Trainer t(model, args, blobs(480, 20));
    silence(t);
    t.train();
    return model->named_parameters()[0].second.clone();
  };
  const auto plain = run(0);
  EXPECT_TRUE(torch::equal(plain, run(1)));
  EXPECT_TRUE(torch::equal(plain, run(3)));
}

TEST(Trainer, Bf16AutocastRunsTheForwardInBfloat16) {
  struct RecordDtype : torch::nn::Module {
    torch::nn::Linear fc{nullptr};
    at::ScalarType seen = at::kFloat;
    RecordDtype() { fc = register_module("fc", torch::nn::Linear(6, 3)); }
    torch::Tensor forward(const torch::Tensor& x) {
      auto out = fc->forward(x);
      seen = out.scalar_type();
      return out;
    }
  };
  auto accuracy = [](bool bf16, at::ScalarType* seen) {
    set_seed(5);
    auto module = std::make_shared<RecordDtype>();
    auto model = std::make_shared<ModuleModel>(module, [module](const torch::Tensor& x) { return module->forward(x); });
    testing::TempDir dir;
    auto args = quiet_args(dir.path());
    args.bf16 = bf16;
    args.num_train_epochs = 10;
    Trainer t(model, args, blobs(256, 21), blobs(128, 22), {}, compute_accuracy);
    silence(t);
    t.train();
    *seen = module->seen;
    EXPECT_EQ(module->fc->weight.scalar_type(), at::kFloat);  // weights stay float32
    return t.evaluate()["eval_accuracy"].get<double>();
  };
  at::ScalarType seen_bf16, seen_fp32;
  const double bf16 = accuracy(true, &seen_bf16), fp32 = accuracy(false, &seen_fp32);
  EXPECT_EQ(seen_bf16, at::kBFloat16);
  EXPECT_EQ(seen_fp32, at::kFloat);
  EXPECT_GT(bf16, 0.8);
  EXPECT_NEAR(bf16, fp32, 0.05);
  EXPECT_FALSE(at::autocast::is_autocast_enabled(at::kCPU));  // restored after each forward
}

TEST(Trainer, FlushDenormalZeroesSubnormalResults) {
  set_flush_denormal(true);
  auto tiny = torch::full({4}, 1e-39f) * 0.5f;
  EXPECT_EQ(tiny[0].item<float>(), 0.0f);
  set_flush_denormal(false);
  tiny = torch::full({4}, 1e-39f) * 0.5f;
  EXPECT_GT(tiny[0].item<float>(), 0.0f);
}

TEST(Trainer, BadSetupsAreClearErrors) {
  testing::TempDir dir;
  auto args = quiet_args(dir.path());
  args.eval_strategy = IntervalStrategy::steps;
  EXPECT_THROW(Trainer(make_builtin_model("mlp", 6, 3), args, blobs(10, 1)), ArgumentError);
  auto fp = quiet_args(dir.path());
  fp.fp16 = true;
  try {
    Trainer(make_builtin_model("mlp", 6, 3), fp, blobs(10, 1));
    FAIL();
  } catch (const ArgumentError& e) {
    EXPECT_NE(std::string(e.what()).find("use args.bf16"), std::string::npos) << e.what();
  }
  auto rt = quiet_args(dir.path());
  rt.report_to = {"tensorbord"};
  try {
    Trainer(make_builtin_model("mlp", 6, 3), rt, blobs(10, 1));
    FAIL();
  } catch (const ArgumentError& e) {
    EXPECT_NE(std::string(e.what()).find("args.report_to"), std::string::npos) << e.what();
  }
  auto resume = quiet_args(dir.path());
  resume.resume_from_checkpoint = "somewhere";
  Trainer resuming(make_builtin_model("mlp", 6, 3), resume, blobs(10, 1));
  EXPECT_THROW(resuming.train(), ArgumentError);  // no such checkpoint, and none to fall back to
  auto dl = quiet_args(dir.path());
  dl.dataloader_drop_last = true;
  Trainer t(make_builtin_model("mlp", 6, 3), dl, blobs(10, 1));
  EXPECT_THROW(t.train(), ArgumentError);
}

TEST(Trainer, DefaultCallbacksAreInTheDocumentedOrder) {
  testing::TempDir dir;
  struct Mine : TrainerCallback {};
  auto args = quiet_args(dir.path());
  Trainer a(make_builtin_model("mlp", 6, 3), args, blobs(10, 1), nullptr, {std::make_shared<Mine>()});
  EXPECT_EQ(a.callback_handler().callback_list(), "DefaultFlowCallback\nMine\nPrinterCallback");
  args.disable_tqdm = false;
  Trainer b(make_builtin_model("mlp", 6, 3), args, blobs(10, 1));
  EXPECT_EQ(b.callback_handler().callback_list(), "DefaultFlowCallback\nProgressCallback");
}

TEST(Trainer, BuiltInModelsTakeImagesAndFlatInputs) {
  for (const std::string name : {"mlp", "cnn"}) {
    auto model = make_builtin_model(name);
    EXPECT_EQ(model->forward(torch::rand({5, 28, 28})).sizes(), (std::vector<int64_t>{5, 10})) << name;
    EXPECT_EQ(model->forward(torch::rand({3, 784})).sizes(), (std::vector<int64_t>{3, 10})) << name;
  }
  EXPECT_EQ(make_builtin_model("cnn", 32 * 32, 4)->forward(torch::rand({2, 32, 32})).sizes(),
            (std::vector<int64_t>{2, 4}));
  EXPECT_THROW(make_builtin_model("cnn", 50, 10), std::invalid_argument);
  EXPECT_THROW(make_builtin_model("resnet"), std::invalid_argument);
}

TEST(Trainer, WeightDecayStaysOffBiasesAndNormWeights) {
  EXPECT_TRUE(excluded_from_weight_decay("fc1.bias", {}));
  EXPECT_TRUE(excluded_from_weight_decay("encoder.layer.0.LayerNorm.weight", {}));
  EXPECT_TRUE(excluded_from_weight_decay("blocks.0.norm.weight", {}));
  EXPECT_TRUE(excluded_from_weight_decay("blocks.0.attn_norm.weight", {}));
  EXPECT_TRUE(excluded_from_weight_decay("ln.weight", {"ln.weight"}));
  EXPECT_FALSE(excluded_from_weight_decay("fc1.weight", {}));
  EXPECT_FALSE(excluded_from_weight_decay("normalizer.weight", {}));
  TrainingArguments args;
  args.weight_decay = 0.1;
  auto model = make_builtin_model("mlp", 6, 3);
  auto opt = create_optimizer(args, *model);
  ASSERT_EQ(opt->param_groups().size(), 2u);
  EXPECT_EQ(opt->param_groups()[0].params().size(), 3u);  // the three weight matrices
  EXPECT_EQ(opt->param_groups()[1].params().size(), 3u);  // the three biases
  EXPECT_EQ(static_cast<torch::optim::AdamWOptions&>(opt->param_groups()[0].options()).weight_decay(), 0.1);
  EXPECT_EQ(static_cast<torch::optim::AdamWOptions&>(opt->param_groups()[1].options()).weight_decay(), 0.0);
  args.optim = OptimizerNames::sgd;
  args.optim_args = "momentum=0.9,nesterov=true";
  EXPECT_NO_THROW(create_optimizer(args, *model));
  args.optim_args = "betas=1";
  EXPECT_THROW(create_optimizer(args, *model), ArgumentError);
}

TEST(Trainer, TrainsATorchScriptModuleFromPython) {
  testing::TempDir dir;
  const auto path = dir / "net.pt";
  // TorchScript reads the class's source, so the script must be a file.
  std::ofstream(dir / "make_net.py") << "import sys, torch\n"
                                        "class Net(torch.nn.Module):\n"
                                        "    def __init__(self):\n"
                                        "        super().__init__()\n"
                                        "        self.fc = torch.nn.Linear(6, 3)\n"
                                        "        self.norm = torch.nn.LayerNorm(6)\n"
                                        "    def forward(self, x):\n"
                                        "        return self.fc(self.norm(x))\n"
                                        "torch.jit.script(Net()).save(sys.argv[1])\n";
  const std::string cmd = std::string(TRAINER_PYTHON) + " " + (dir / "make_net.py").string() + " " + path.string();
  ASSERT_EQ(std::system(cmd.c_str()), 0)
      << "torch in TRAINER_PYTHON is needed (scripts/install-deps.sh --tests installs it into .venv/)";
  auto model = load_script_model(path.string());
  auto norm = model->normalization_parameter_names();
  EXPECT_EQ(norm, (std::vector<std::string>{"norm.weight", "norm.bias"}));
  auto args = quiet_args(dir.path());
  args.num_train_epochs = 10;
  Trainer t(model, args, blobs(256, 18), blobs(128, 19), {}, compute_accuracy);
  silence(t);
  t.train();
  EXPECT_GT(t.evaluate()["eval_accuracy"].get<double>(), 0.7);
  EXPECT_THROW(load_script_model((dir / "missing.pt").string()), std::runtime_error);
}

}  // namespace
}  // namespace trainer
