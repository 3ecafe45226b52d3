#include "trainer/integrations/dvclive/dvclive_callback.h"

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <cmath>
#include <fstream>
#include <sstream>

#include "fake_run.h"
#include "test_support.h"
#include "trainer/tracking/log_keys.h"

namespace trainer {
namespace {

namespace fs = std::filesystem;

TEST(DVCLive, MetricNamesAsTheHuggingFaceIntegrationNamesThem) {
  EXPECT_EQ(dvclive_metric_name("eval_loss"), "eval/loss");
  EXPECT_EQ(dvclive_metric_name("train_runtime"), "train/runtime");
  EXPECT_EQ(dvclive_metric_name("loss"), "loss");
  EXPECT_EQ(dvclive_metric_name("test_loss"), "test_loss");
  EXPECT_EQ(dvclive_metric_name("eval_train_loss"), "eval/train/loss");  // every occurrence
}

TEST(DVCLive, ValuesAsPythonStrWritesThem) {
  EXPECT_EQ(dvclive_value_text(Json(5e-05)), "5e-05");
  EXPECT_EQ(dvclive_value_text(Json(2.0)), "2.0");
  EXPECT_EQ(dvclive_value_text(Json(7)), "7");
  EXPECT_EQ(dvclive_value_text(Json(std::nan(""))), "nan");
  EXPECT_EQ(dvclive_value_text(Json(-INFINITY)), "-inf");
}

TEST(DVCLive, ParamsYamlIsReadBackAsTheSameValues) {
  const Json params = Json{{"output_dir", "trainer_output"},
                           {"learning_rate", 5e-05},
                           {"num_train_epochs", 3.0},
                           {"seed", 42},
                           {"bf16", false},
                           {"hub_model_id", nullptr},
                           {"report_to", Json::array({"dvclive", "tensorboard"})},
                           {"run_name", "yes"},
                           {"empty", Json::array()},
                           {"quote", "it's: here"}};
  const std::string text = params_yaml(params);
  EXPECT_NE(text.find("learning_rate: 5e-05\n"), std::string::npos) << text;
  EXPECT_NE(text.find("hub_model_id:\n"), std::string::npos) << text;
  EXPECT_NE(text.find("report_to:\n- dvclive\n- tensorboard\n"), std::string::npos) << text;
  const YAML::Node yaml = YAML::Load(text);
  EXPECT_EQ(yaml["output_dir"].as<std::string>(), "trainer_output");
  EXPECT_DOUBLE_EQ(yaml["learning_rate"].as<double>(), 5e-05);
  EXPECT_EQ(yaml["seed"].as<int>(), 42);
  EXPECT_FALSE(yaml["bf16"].as<bool>());
  EXPECT_TRUE(yaml["hub_model_id"].IsNull());
  EXPECT_EQ(yaml["report_to"][1].as<std::string>(), "tensorboard");
  EXPECT_EQ(yaml["run_name"].as<std::string>(), "yes");
  EXPECT_EQ(yaml["run_name"].Tag(), "!");  // quoted, so not the boolean yes
  EXPECT_EQ(yaml["empty"].size(), 0u);
  EXPECT_EQ(yaml["quote"].as<std::string>(), "it's: here");
}

TEST(DVCLive, WritesTheDvcliveLayout) {
  testing::TempDir dir;
  const fs::path live = dir / "dvclive";
  fs::create_directories(live / "plots" / "metrics");
  std::ofstream(live / "plots" / "metrics" / "stale.tsv") << "step\tstale\n0\t1\n";
  testing::FakeRun run;
  DVCLiveCallback cb(live.string());
  cb.on_train_begin(run.args, run.state, run.control, run.ctx);
  run.log(cb, 100, Json{{"loss", 0.5}, {"learning_rate", 5e-05}, {"epoch", 0.5}});
  run.log(cb, 200, Json{{"eval_loss", 0.25}, {"eval_accuracy", 0.875}, {"epoch", 1.0}});
  run.log(cb, 300, Json{{"loss", std::nan("")}, {"epoch", 1.5}, {"history", Json::array({1})}});
  run.log(cb, 300, Json{{"train_runtime", 12.5}, {"train_loss", 0.4}, {"epoch", 1.5}});
  cb.on_train_end(run.args, run.state, run.control, run.ctx);

  EXPECT_FALSE(fs::exists(live / "plots" / "metrics" / "stale.tsv"));  // a new run starts clean
  EXPECT_EQ(testing::read_file(live / "plots" / "metrics" / "loss.tsv"), "step\tloss\n0\t0.5\n2\tnan\n");
  EXPECT_EQ(testing::read_file(live / "plots" / "metrics" / "epoch.tsv"),
            "step\tepoch\n0\t0.5\n1\t1.0\n2\t1.5\n3\t1.5\n");
  EXPECT_EQ(testing::read_file(live / "plots" / "metrics" / "eval" / "loss.tsv"), "step\tloss\n1\t0.25\n");
  EXPECT_EQ(testing::read_file(live / "plots" / "metrics" / "train" / "runtime.tsv"), "step\truntime\n3\t12.5\n");
  EXPECT_FALSE(fs::exists(live / "plots" / "metrics" / "history.tsv"));

  const Json metrics = parse_json(testing::read_file(live / "metrics.json"));
  EXPECT_EQ(metrics["loss"], "nan");
  EXPECT_EQ(metrics["eval"]["accuracy"], 0.875);
  EXPECT_EQ(metrics["train"]["loss"], 0.4);
  EXPECT_EQ(metrics["learning_rate"], 5e-05);
  EXPECT_EQ(metrics["step"], 3);
  // json.dump(indent=4) layout
  EXPECT_EQ(testing::read_file(live / "metrics.json").substr(0, 20), "{\n    \"loss\": \"nan\",");

  EXPECT_TRUE(YAML::LoadFile((live / "params.yaml").string())["output_dir"].IsDefined());
  EXPECT_EQ(testing::read_file(dir / "dvc.yaml"),
            "params:\n- dvclive/params.yaml\nmetrics:\n- dvclive/metrics.json\nplots:\n"
            "- dvclive/plots/metrics:\n    x: step\n");
}

TEST(DVCLive, LogModelSavesTheFinalModelAsAnArtifact) {
  testing::TempDir dir;
  testing::FakeRun run;
  run.args.output_dir = (dir / "out").string();
  run.args.load_best_model_at_end = true;
  run.state.best_model_checkpoint = (dir / "out" / "checkpoint-4").string();
  std::vector<std::string> saved_to;
  run.ctx.save_model = [&saved_to](const std::string& to) {
    saved_to.push_back(to);
    fs::create_directories(to);
    std::ofstream(fs::path(to) / "model.safetensors") << "weights";
  };
  DVCLiveCallback cb((dir / "dvclive").string(), "true");
  cb.on_train_begin(run.args, run.state, run.control, run.ctx);
  run.log(cb, 1, Json{{"loss", 1.0}});
  cb.on_train_end(run.args, run.state, run.control, run.ctx);
  EXPECT_EQ(saved_to, std::vector<std::string>{(dir / "out" / "best").string()});
  EXPECT_EQ(testing::read_file(dir / "dvclive" / "artifacts" / "best" / "model.safetensors"), "weights");
  EXPECT_NE(testing::read_file(dir / "dvc.yaml")
                .find("artifacts:\n  best:\n    path: dvclive/artifacts/best\n    type: model\n"),
            std::string::npos)
      << testing::read_file(dir / "dvc.yaml");
}

TEST(DVCLive, LogModelAllCopiesEachCheckpointAndTheEnvironmentChoosesTheMode) {
  testing::TempDir dir;
  testing::FakeRun run;
  run.args.output_dir = (dir / "out").string();
  fs::create_directories(dir / "out" / "checkpoint-2");
  std::ofstream(dir / "out" / "checkpoint-2" / "model.safetensors") << "step 2";
  DVCLiveCallback cb((dir / "dvclive").string(), "all");
  cb.on_train_begin(run.args, run.state, run.control, run.ctx);
  run.state.global_step = 2;
  run.ctx.checkpoint_dir = (dir / "out" / "checkpoint-2").string();
  cb.on_checkpoint_published(run.args, run.state, run.control, run.ctx);
  fs::remove_all(dir / "out" / "checkpoint-2");  // rotated away as soon as the event returns
  cb.writer().drain();
  EXPECT_EQ(testing::read_file(dir / "dvclive" / "artifacts" / "last" / "model.safetensors"), "step 2");

  setenv("HF_DVCLIVE_LOG_MODEL", "yes", 1);
  EXPECT_EQ(DVCLiveCallback("d").log_model(), "true");
  setenv("HF_DVCLIVE_LOG_MODEL", "all", 1);
  EXPECT_EQ(DVCLiveCallback("d").log_model(), "all");
  setenv("HF_DVCLIVE_LOG_MODEL", "0", 1);
  EXPECT_EQ(DVCLiveCallback("d").log_model(), "");
  unsetenv("HF_DVCLIVE_LOG_MODEL");
  EXPECT_THROW(DVCLiveCallback("d", "sometimes"), std::invalid_argument);
}

TEST(DVCLive, AnExistingDvcYamlIsLeftAlone) {
  testing::TempDir dir;
  std::ofstream(dir / "dvc.yaml") << "stages: {}\n";
  testing::FakeRun run;
  DVCLiveCallback cb((dir / "dvclive").string());
  cb.on_train_begin(run.args, run.state, run.control, run.ctx);
  cb.on_train_end(run.args, run.state, run.control, run.ctx);
  EXPECT_EQ(testing::read_file(dir / "dvc.yaml"), "stages: {}\n");
}

TEST(DVCLive, AnUnwritableDirectoryIsReportedAndTrainingGoesOn) {
  testing::TempDir dir;
  std::ofstream(dir / "file") << "x";
  testing::CapturedLogs warnings;
  testing::FakeRun run;
  DVCLiveCallback cb((dir / "file" / "dvclive").string());
  EXPECT_NO_THROW(cb.on_train_begin(run.args, run.state, run.control, run.ctx));
  EXPECT_NO_THROW(run.log(cb, 1, Json{{"loss", 1.0}}));
  EXPECT_NO_THROW(cb.on_train_end(run.args, run.state, run.control, run.ctx));
  EXPECT_EQ(cb.writer().failures(), 2);
  EXPECT_TRUE(warnings.contains("dvclive: "));
}

}  // namespace
}  // namespace trainer
