// MLflowCallback (and AzureML, DagsHub) against a mock tracking server on 127.0.0.1 with faults:
// training never waits, and the server ends with every metric exactly once.
#include <gtest/gtest.h>

#include <cmath>
#include <csignal>
#include <cstdlib>
#include <fstream>
#include <map>
#include <thread>
#include <tuple>

#include "fake_run.h"
#include "fault_cases.h"
#include "integrations/mlflow/mlflow_file_endpoint.h"
#include "integrations/mlflow/mlflow_rest_endpoint.h"
#include "mock_mlflow_server.h"
#include "scoped_env.h"
#include "test_support.h"
#include "trainer/callbacks/preemption_callback.h"
#include "trainer/core/trainer_control.h"
#include "trainer/core/trainer_state.h"
#include "trainer/core/training_arguments.h"
#include "trainer/integrations/mlflow/mlflow_tracker.h"
#include "trainer/integrations/registry.h"
#include "trainer/net/http_client.h"

namespace trainer {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;
using testing::MockMlflowServer;

using Env = testing::ScopedEnv;

class ClearMlflowEnv {
 public:
  ClearMlflowEnv() {
    for (const char* v :
         {"MLFLOW_TRACKING_URI", "MLFLOW_EXPERIMENT_NAME", "MLFLOW_EXPERIMENT_ID", "MLFLOW_TAGS", "MLFLOW_NESTED_RUN",
          "MLFLOW_RUN_ID", "MLFLOW_FLATTEN_PARAMS", "MLFLOW_MAX_LOG_PARAMS", "HF_MLFLOW_LOG_ARTIFACTS",
          "MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD", "MLFLOW_TRACKING_TOKEN", "AZUREML_RUN_TOKEN",
          "HF_DAGSHUB_LOG_ARTIFACTS", "DAGSHUB_CLIENT_HOST", "DAGSHUB_USER_TOKEN"})
      env.unset(v);
  }
  Env env;
};

using Point = std::tuple<std::string, int64_t, std::string>;  // key, step, value as text (NaN-safe)

std::string value_text(double v) { return std::isnan(v) ? "nan" : python_float_repr(v); }

// A short run driven by hand: logs like the Trainer's (with a NaN and an eval), a save, the end.
struct DrivenRun {
  testing::FakeRun run;
  std::multiset<Point> logged;
  std::shared_ptr<TrackerCallback> callback;

  explicit DrivenRun(const fs::path& output_dir, std::shared_ptr<TrackerCallback> cb = nullptr) {
    run.args.output_dir = output_dir.string();
    run.args.run_name = "mock-run";
    run.args.tracker_flush_timeout = 30;
    run.ctx.model_description = R"({"hidden_size": 64, "model_type": "mlp"})";
    callback = cb ? cb : make_mlflow_callback();
  }
  void begin() { callback->on_train_begin(run.args, run.state, run.control, run.ctx); }
  void log(int64_t step, Json logs) {
    for (auto it = logs.begin(); it != logs.end(); ++it)
      if (it.value().is_number()) logged.insert({it.key(), step, value_text(it.value().get<double>())});
    run.log(*callback, step, logs);
  }
  void steps(int64_t from, int64_t to) {
    for (int64_t s = from; s <= to; ++s) {
      log(s, Json{{"loss", 1.0 / static_cast<double>(s)}, {"learning_rate", 1e-3}, {"epoch", s / 10.0}});
      // "epoch" again, as the Trainer's evaluation logs do: within the same millisecond as the
      // step's own log, it must still be its own point (the mock merges identical points, as
      // MLflow's database store does).
      if (s % 5 == 0)
        log(s, Json{{"eval_loss", 0.5 + 1.0 / static_cast<double>(s)}, {"eval_accuracy", 0.8}, {"epoch", s / 10.0}});
      if (s % 5 == 0) save(s);
    }
  }
  void save(int64_t step) {
    run.state.global_step = step;
    callback->on_save(run.args, run.state, run.control, run.ctx);
  }
  void end() { callback->on_train_end(run.args, run.state, run.control, run.ctx); }
};

std::multiset<Point> received(const testing::StoredRun& run) {
  std::multiset<Point> out;
  for (const auto& m : run.metrics) out.insert({m.key, m.step, value_text(m.value)});
  return out;
}

class MlflowTest : public ::testing::Test {
 protected:
  ClearMlflowEnv clear;
  testing::TempDir tmp;
  MockMlflowServer server;
  void use_server() { clear.env.set("MLFLOW_TRACKING_URI", server.url()); }
};

TEST_F(MlflowTest, LogsTheRunAsTheOriginalDoesInRequestsOfTheRightShape) {
  use_server();
  clear.env.set("MLFLOW_EXPERIMENT_NAME", "fashion").set("MLFLOW_TAGS", R"({"team": "vision"})");
  testing::CapturedLogs logs;
  {
    DrivenRun r(tmp.path() / "out");
    Json config{{"hidden_size", 64}};
    for (int i = 0; i < 60; ++i) config["layer_" + std::to_string(i)] = i;
    r.run.ctx.model_description = config.dump();
    r.begin();
    r.steps(1, 12);
    r.log(12, Json{{"loss", std::nan("")},
                   {"grad_norm", std::numeric_limits<double>::infinity()},
                   {"note", "text"},
                   {"flag", true}});
    r.end();
    const auto runs = server.runs();
    ASSERT_EQ(runs.size(), 1u);
    EXPECT_EQ(received(runs[0]), r.logged);
  }
  EXPECT_TRUE(server.violations().empty()) << server.violations().front();
  const auto run = server.runs().front();
  EXPECT_EQ(run.status, "FINISHED");
  EXPECT_EQ(run.run_name, "mock-run");
  EXPECT_EQ(run.experiment_id, server.experiments().at("fashion"));
  EXPECT_EQ(run.tags.at("team"), "vision");
  EXPECT_EQ(run.tags.at("mlflow.source.type"), "LOCAL");
  // Params: the model's configuration overlaid by the arguments, as Python's str() renders them.
  EXPECT_EQ(run.params.at("hidden_size"), "64");
  EXPECT_EQ(run.params.at("run_name"), "mock-run");
  EXPECT_EQ(run.params.at("report_to"), "['none']");
  EXPECT_EQ(run.params.at("learning_rate"), "5e-05");
  EXPECT_EQ(run.params.at("logging_dir"), "None");
  EXPECT_EQ(run.params.at("bf16"), "False");
  EXPECT_EQ(run.params.at("layer_59"), "59");
  EXPECT_EQ(run.params.size(), 61 + TrainingArguments().to_json().size());  // sent in batches of at most 100
  // Values MLflow cannot hold are left out with one warning per key.
  EXPECT_TRUE(logs.contains("'note' is a string"));
  EXPECT_TRUE(logs.contains("'flag' is a boolean"));
}

class MlflowFaultTest : public MlflowTest, public ::testing::WithParamInterface<testing::FaultCase> {};

TEST_P(MlflowFaultTest, TrainingGoesOnAndEveryMetricArrivesExactlyOnce) {
  use_server();
  DrivenRun r(tmp.path() / "out");
  GetParam().inject(server.http());
  const auto start = std::chrono::steady_clock::now();
  r.begin();
  r.steps(1, 20);
  const auto logging_time = std::chrono::steady_clock::now() - start;
  EXPECT_LT(logging_time, 1s) << "the training thread waited on the network";
  r.end();
  const auto runs = server.runs();
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(received(runs[0]), r.logged);
  EXPECT_EQ(runs[0].duplicate_points, 0) << "a point was sent twice";
  EXPECT_EQ(runs[0].status, "FINISHED");
  EXPECT_TRUE(server.violations().empty());
}

INSTANTIATE_TEST_SUITE_P(Faults, MlflowFaultTest, ::testing::ValuesIn(testing::standard_fault_cases()),
                         testing::fault_case_name<::testing::TestParamInfo<testing::FaultCase>>);

// The server makes the run and the answer is lost (a reset, a proxy's timeout): the retry must
// find that run by the key it was tagged with, not create a second one left RUNNING and empty.
TEST_F(MlflowTest, ARunWhoseCreateAnswerWasLostIsCreatedOnce) {
  use_server();
  testing::lose_answers(server.http(), 1, "runs/create");
  DrivenRun r(tmp.path() / "out");
  r.begin();
  r.steps(1, 6);
  r.end();
  EXPECT_EQ(server.http().faults().lose_answer_next, 0) << "the fault never fired";
  EXPECT_TRUE(server.violations().empty()) << server.violations().front();
  const auto runs = server.runs();
  ASSERT_EQ(runs.size(), 1u) << "the retry created a second run";
  EXPECT_EQ(received(runs[0]), r.logged);
  EXPECT_EQ(runs[0].status, "FINISHED");
  EXPECT_EQ(runs[0].tags.at(kMlflowRunKeyTag).size(), 32u);
  EXPECT_EQ(server.searches(), 2);  // before the create, and before its retry
}

// A server that rejects runs/search (some MLflow-compatible services lack it) still gets its run,
// created as before, with one warning.
TEST_F(MlflowTest, AServerWithoutSearchStillGetsTheRun) {
  use_server();
  testing::Faults f;
  f.reject_next = 1;
  f.reject_path = "runs/search";
  server.http().set_faults(f);
  testing::CapturedLogs logs;
  DrivenRun r(tmp.path() / "out");
  r.begin();
  r.steps(1, 3);
  r.end();
  const auto runs = server.runs();
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(received(runs[0]), r.logged);
  EXPECT_TRUE(logs.contains("runs are created without the look-up"));
}

TEST_F(MlflowTest, DownForTwentySecondsMidRunStillDeliversEverything) {
  use_server();
  DrivenRun r(tmp.path() / "out");
  r.begin();
  r.steps(1, 5);
  std::this_thread::sleep_for(500ms);
  server.http().down_for(20s);
  r.steps(6, 15);
  r.end();  // the 30 s budget outlasts the outage
  ASSERT_EQ(server.runs().size(), 1u);
  EXPECT_EQ(received(server.runs()[0]), r.logged);
}

TEST_F(MlflowTest, APermanentRejectionKeepsTheRecordAsideAndSendsTheRest) {
  use_server();
  DrivenRun r(tmp.path() / "out");
  r.begin();
  r.steps(1, 3);
  std::this_thread::sleep_for(800ms);  // start, params and these metrics are delivered
  testing::Faults f;
  f.reject_next = 2;  // the batch, then the first of its records sent alone
  f.reject_path = "log-batch";
  server.http().set_faults(f);
  r.steps(4, 10);
  r.end();
  // The refused batch was split, and the one record the server refused is in rejected.jsonl.
  const fs::path rejected = tmp.path() / "out" / "tracking" / "mlflow" / "rejected.jsonl";
  std::ifstream in(rejected);
  std::string line;
  std::multiset<Point> kept_aside;
  while (std::getline(in, line)) {
    const Json j = Json::parse(line);
    EXPECT_NE(j["error"].get<std::string>().find("injected permanent rejection"), std::string::npos);
    for (auto it = j["record"]["metrics"].begin(); it != j["record"]["metrics"].end(); ++it)
      kept_aside.insert({it.key(), j["record"]["step"], value_text(it.value().get<double>())});
  }
  EXPECT_FALSE(kept_aside.empty());
  std::multiset<Point> all = received(server.runs()[0]);
  all.insert(kept_aside.begin(), kept_aside.end());
  EXPECT_EQ(all, r.logged);
}

TEST_F(MlflowTest, ResumeContinuesTheSameRunWithoutDuplicates) {
  use_server();
  Json saved;
  std::multiset<Point> first_logged;
  {
    DrivenRun first(tmp.path() / "out");
    first.begin();
    first.steps(1, 12);  // checkpoint at 10; steps 11-12 are logged, then the process dies
    saved = std::dynamic_pointer_cast<StatefulTrackerCallback>(first.callback)->state();
    first_logged = first.logged;
    first.callback.reset();  // what a kill leaves: no end of run
  }
  DrivenRun resumed(tmp.path() / "out");
  std::dynamic_pointer_cast<StatefulTrackerCallback>(resumed.callback)->load_state(saved);
  resumed.run.state.global_step = 10;  // resumed from checkpoint-10
  resumed.begin();
  resumed.steps(11, 16);  // 11 and 12 again, with the same values (an exact resume)
  resumed.end();
  const auto runs = server.runs();
  ASSERT_EQ(runs.size(), 1u);
  std::multiset<Point> expected = first_logged;
  for (const Point& p : resumed.logged)
    if (std::get<1>(p) > 12) expected.insert(p);
  EXPECT_EQ(received(runs[0]), expected);
  EXPECT_EQ(runs[0].status, "FINISHED");
  EXPECT_TRUE(server.violations().empty());  // the params were not logged again
}

TEST_F(MlflowTest, SyncSendsWhatARunLeftWhenItsServerNeverCameBack) {
  use_server();
  server.http().set_down(true);
  std::multiset<Point> logged;
  testing::CapturedLogs logs;
  {
    DrivenRun r(tmp.path() / "out");
    r.run.args.tracker_flush_timeout = 0.5;
    r.begin();
    r.steps(1, 8);
    r.end();
    logged = r.logged;
  }
  EXPECT_TRUE(logs.contains("trainer sync " + (tmp.path() / "out").string()));
  server.http().set_down(false);
  const fs::path dir = tmp.path() / "out" / "tracking" / "mlflow";
  auto sender = mlflow_sender_for_journal(dir, (tmp.path() / "out").string());
  EXPECT_EQ(sender->finish(10s).unsent, 0);
  ASSERT_EQ(server.runs().size(), 1u);
  EXPECT_EQ(received(server.runs()[0]), logged);
  EXPECT_EQ(server.runs()[0].status, "FINISHED");
  // Syncing again (another `trainer sync`, once the first has ended) sends nothing twice.
  sender.reset();
  auto again = mlflow_sender_for_journal(dir, (tmp.path() / "out").string());
  EXPECT_EQ(again->finish(5s).unsent, 0);
  EXPECT_EQ(received(server.runs()[0]), logged);
}

TEST_F(MlflowTest, CredentialsGoInTheHeaderAndNowhereElse) {
  MockMlflowServer secured(basic_authorization("alice", "s3cr3t-pw"));
  clear.env.set("MLFLOW_TRACKING_URI", secured.url())
      .set("MLFLOW_TRACKING_USERNAME", "alice")
      .set("MLFLOW_TRACKING_PASSWORD", "s3cr3t-pw");
  testing::CapturedLogs logs;
  {
    DrivenRun r(tmp.path() / "out");
    r.begin();
    r.steps(1, 5);
    r.end();
    ASSERT_EQ(secured.runs().size(), 1u);
    EXPECT_EQ(received(secured.runs()[0]), r.logged);
  }
  for (const auto& entry : fs::recursive_directory_iterator(tmp.path())) {
    if (!entry.is_regular_file()) continue;
    std::ifstream in(entry.path());
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_EQ(text.find("s3cr3t"), std::string::npos) << entry.path();
  }
  for (const auto& m : logs.messages) EXPECT_EQ(m.find("s3cr3t"), std::string::npos) << m;
}

TEST_F(MlflowTest, WrongCredentialsKeepEverythingForTrainerSync) {
  MockMlflowServer secured(basic_authorization("alice", "right"));
  clear.env.set("MLFLOW_TRACKING_URI", secured.url())
      .set("MLFLOW_TRACKING_USERNAME", "alice")
      .set("MLFLOW_TRACKING_PASSWORD", "wrong");
  testing::CapturedLogs logs;
  {
    DrivenRun r(tmp.path() / "out");
    r.begin();
    r.steps(1, 3);
    r.end();
  }
  EXPECT_TRUE(logs.contains("HTTP 401"));
  EXPECT_TRUE(secured.runs().empty());
  EXPECT_GT(RecordJournal::summarize(tmp.path() / "out" / "tracking" / "mlflow" / "journal.jsonl").unacked(), 0);
}

TEST_F(MlflowTest, CheckpointsBecomeArtifactsUnderCheckpointN) {
  use_server();
  clear.env.set("HF_MLFLOW_LOG_ARTIFACTS", "1");
  DrivenRun r(tmp.path() / "out");
  r.begin();
  const fs::path checkpoint = tmp.path() / "out" / "checkpoint-5";
  fs::create_directories(checkpoint);
  std::ofstream(checkpoint / "model.safetensors") << "weights";
  std::ofstream(checkpoint / "trainer_state.json") << "{}";
  r.run.ctx.checkpoint_dir = checkpoint.string();
  r.callback->on_checkpoint_published(r.run.args, r.run.state, r.run.control, r.run.ctx);
  fs::remove_all(checkpoint);  // rotated away at once: the staged copy is what gets uploaded
  r.end();
  const auto run = server.runs().front();
  const auto artifacts = server.artifacts();
  const std::string prefix = run.experiment_id + "/" + run.run_id + "/artifacts/checkpoint-5/";
  ASSERT_EQ(artifacts.count(prefix + "model.safetensors"), 1u);
  EXPECT_EQ(artifacts.at(prefix + "model.safetensors"), "weights");
  EXPECT_EQ(artifacts.count(prefix + "trainer_state.json"), 1u);
}

TEST_F(MlflowTest, BadVariablesAreReportedByName) {
  clear.env.set("MLFLOW_TAGS", "[1, 2]");
  EXPECT_THROW(
      try { make_mlflow_callback(); } catch (const ArgumentError& e) {
        EXPECT_NE(std::string(e.what()).find("MLFLOW_TAGS must be a JSON object"), std::string::npos);
        throw;
      },
      ArgumentError);
  clear.env.set("MLFLOW_TAGS", "{}").set("MLFLOW_MAX_LOG_PARAMS", "ten");
  EXPECT_THROW(make_mlflow_callback(), ArgumentError);
  clear.env.set("MLFLOW_MAX_LOG_PARAMS", "5").set("MLFLOW_TRACKING_URI", "sqlite:///mlflow.db");
  EXPECT_THROW(make_mlflow_callback(), ArgumentError);
}

TEST_F(MlflowTest, AzureMlRewritesItsUriAndLogsMetricsOnly) {
  clear.env
      .set("MLFLOW_TRACKING_URI", "azureml://westeurope.api.azureml.ms/mlflow/v1.0/subscriptions/s/resourceGroups/g")
      .set("AZUREML_RUN_TOKEN", "job-token");
  const MlflowSettings s = MlflowSettings::from_environment("AzureMLCallback");
  EXPECT_EQ(s.tracking_uri, "https://westeurope.api.azureml.ms/mlflow/v1.0/subscriptions/s/resourceGroups/g");
  EXPECT_EQ(s.authorization(), "Bearer job-token");
  // Against a plain server (AzureML's MLflow endpoint answers the same REST API).
  use_server();
  DrivenRun r(tmp.path() / "out", make_azureml_callback());
  r.begin();
  r.steps(1, 5);
  r.log(5, Json{{"flag", true}});
  r.logged.insert({"flag", 5, "1.0"});
  r.end();
  const auto run = server.runs().front();
  EXPECT_TRUE(run.params.empty());
  EXPECT_EQ(received(run), r.logged);
}

TEST_F(MlflowTest, DagsHubLogsToTheRepositoryAndUploadsTheOutputInCommitsOfAtMost100Files) {
  clear.env
      .set("MLFLOW_TRACKING_URI", server.url() + "/alice/fashion.mlflow/")  // a trailing '/' is fine here
      .set("DAGSHUB_CLIENT_HOST", server.url())
      .set("HF_DAGSHUB_LOG_ARTIFACTS", "true");
  DrivenRun r(tmp.path() / "out", make_dagshub_callback());
  r.begin();
  r.steps(1, 5);
  for (int i = 0; i < 150; ++i) std::ofstream(tmp.path() / "out" / ("file" + std::to_string(i) + ".txt")) << i;
  r.end();
  ASSERT_EQ(server.runs().size(), 1u);
  EXPECT_EQ(received(server.runs()[0]), r.logged);
  EXPECT_EQ(server.runs()[0].status, "FINISHED");  // unlike the original, the run is ended
  const auto uploads = server.uploads();
  EXPECT_EQ(std::count_if(uploads.begin(), uploads.end(),
                          [](const std::string& u) { return u.find("main/artifacts/file") == 0; }),
            150);
  EXPECT_TRUE(server.violations().empty());
}

TEST_F(MlflowTest, FileStoreIsWhatMlflowsFileStoreReads) {
  clear.env.set("MLFLOW_TRACKING_URI", "file://" + (tmp.path() / "mlruns").string())
      .set("MLFLOW_EXPERIMENT_NAME", "local");
  DrivenRun r(tmp.path() / "out");
  r.begin();
  r.steps(1, 5);
  r.log(5, Json{{"grad_norm", std::nan("")}, {"eval/extra", 3}});
  r.end();
  const std::string reader = std::string(TRAINER_SOURCE_DIR) + "/tests/integrations/read_mlruns.py";
  const fs::path expected = tmp.path() / "expected.json";
  Json points = Json::array();
  for (const auto& [key, step, value] : r.logged) points.push_back({key, step, value});
  std::ofstream(expected) << points.dump();
  const std::string command = std::string(TRAINER_PYTHON) + " " + reader + " " + (tmp.path() / "mlruns").string() +
                              " local mock-run " + expected.string();
  EXPECT_EQ(std::system(command.c_str()), 0) << command;
}

TEST_F(MlflowTest, TheRunEndsFailedOnAnExceptionAndKilledAfterSigterm) {
  use_server();
  {
    DrivenRun failed(tmp.path() / "failed");
    failed.begin();
    failed.steps(1, 3);
    failed.callback->on_exception(failed.run.args, failed.run.state, failed.run.control, failed.run.ctx);
  }
  PreemptionCallback::request(SIGTERM);
  {
    DrivenRun killed(tmp.path() / "killed");
    killed.begin();
    killed.steps(1, 3);
    killed.end();
  }
  PreemptionCallback::reset();
  const auto runs = server.runs();
  ASSERT_EQ(runs.size(), 2u);
  EXPECT_EQ(runs[0].status, "FAILED");
  EXPECT_EQ(runs[1].status, "KILLED");
}

TEST_F(MlflowTest, ATrackerThatCannotStartIsTurnedOffAndTrainingGoesOn) {
  use_server();
  std::ofstream(tmp.path() / "a-file") << "x";  // output_dir below a file: no journal can be made
  testing::CapturedLogs logs;
  {
    DrivenRun r(tmp.path() / "a-file" / "out");
    EXPECT_NO_THROW({
      r.begin();
      r.steps(1, 3);
      r.end();
    });
  }
  EXPECT_TRUE(logs.contains("MLflowCallback: "));
  EXPECT_TRUE(logs.contains("this tracker is off for the rest of the run"));
}

TEST_F(MlflowTest, ADamagedJournalIsKeptAsideAndANewOneStarts) {
  use_server();
  const fs::path dir = tmp.path() / "out" / "tracking" / "mlflow";
  fs::create_directories(dir);
  std::ofstream(dir / "journal.jsonl") << "{not json\n{\"acked\": 1}\n";
  testing::CapturedLogs logs;
  {
    DrivenRun r(tmp.path() / "out");
    r.run.state.global_step = 2;  // a resume: the journal would be continued
    r.begin();
    r.steps(3, 5);
    r.end();
    EXPECT_EQ(received(server.runs().at(0)), r.logged);
  }
  EXPECT_TRUE(logs.contains("journal.jsonl:1: damaged journal line"));
  bool kept = false;
  for (const auto& e : fs::directory_iterator(dir))
    kept |= e.path().filename().string().rfind("journal.damaged-", 0) == 0;
  EXPECT_TRUE(kept);
}

TEST_F(MlflowTest, FileStoreRefusesNamesThatWouldLeaveTheRunFolder) {
  clear.env.set("MLFLOW_TRACKING_URI", (tmp.path() / "mlruns").string());
  {
    DrivenRun r(tmp.path() / "out");
    r.begin();
    r.run.log(*r.callback, 1, Json{{"../../escaped", 1.0}});
    r.log(1, Json{{"loss", 0.5}});
    r.end();
  }
  EXPECT_FALSE(fs::exists(tmp.path() / "mlruns" / "escaped"));
  EXPECT_FALSE(fs::exists(tmp.path() / "escaped"));
  std::ifstream rejected(tmp.path() / "out" / "tracking" / "mlflow" / "rejected.jsonl");
  std::string line;
  ASSERT_TRUE(std::getline(rejected, line));
  EXPECT_NE(line.find("not a relative path without '..'"), std::string::npos) << line;
}

}  // namespace
}  // namespace trainer

namespace trainer {
namespace {

TEST_F(MlflowTest, ASecondRunInAnOutputDirStillReportingIsTurnedOffAndMovesNothing) {
  use_server();
  testing::CapturedLogs logs;
  DrivenRun first(tmp.path() / "out");
  first.begin();
  first.steps(1, 3);
  DrivenRun second(tmp.path() / "out");  // started while the first still runs in the same output_dir
  second.begin();
  second.steps(1, 3);
  EXPECT_TRUE(logs.contains("is in use by another process"));
  EXPECT_TRUE(logs.contains("this tracker is off for the rest of the run"));
  first.steps(4, 5);
  first.end();
  EXPECT_FALSE(fs::exists(tmp.path() / "out" / "tracking" / "mlflow.earlier-1")) << "a live journal was moved";
  ASSERT_EQ(server.runs().size(), 1u);
  EXPECT_EQ(received(server.runs()[0]), first.logged);
}

}  // namespace
}  // namespace trainer
