// CometCallback against a mock Comet REST API v2 on 127.0.0.1 with faults: every metric arrives
// exactly once with its step and epoch, the experiment holds the parameters, graph, times and
// status, training never waits; offline experiments are sent later by `trainer sync`.
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <set>
#include <tuple>

#include "fake_run.h"
#include "fault_cases.h"
#include "killed_process.h"
#include "mock_comet_server.h"
#include "scoped_env.h"
#include "test_support.h"
#include "trainer/core/trainer_control.h"
#include "trainer/core/trainer_state.h"
#include "trainer/core/training_arguments.h"
#include "trainer/integrations/comet/comet_settings.h"
#include "trainer/integrations/comet/comet_tracker.h"
#include "trainer/integrations/registry.h"

namespace trainer {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;
using testing::MockCometServer;
using testing::read_file;

const char* kKey = "cometkey0123456789abcdefSECRET";

using Point = std::tuple<std::string, int64_t, std::string, double>;  // name, step, value, epoch

class CometTest : public ::testing::Test {
 protected:
  CometTest() {
    for (const char* v : {"COMET_MODE", "COMET_START_ONLINE", "COMET_PROJECT_NAME", "COMET_WORKSPACE", "COMET_API_KEY",
                          "COMET_EXPERIMENT_KEY", "COMET_OFFLINE_DIRECTORY", "COMET_URL_OVERRIDE", "COMET_LOG_ASSETS"})
      env.unset(v);
    env.set("COMET_OFFLINE_DIRECTORY", (tmp.path() / "offline").string());
  }
  void online() { env.set("COMET_API_KEY", kKey).set("COMET_URL_OVERRIDE", server.url() + "/clientlib/"); }
  testing::ScopedEnv env;
  testing::TempDir tmp;
  MockCometServer server{kKey};
};

// A short run driven by hand: logs like the Trainer's, evaluations, saves, the end.
struct DrivenRun {
  testing::FakeRun run;
  std::shared_ptr<TrackerCallback> callback;
  std::multiset<Point> logged;  // what Comet must hold

  explicit DrivenRun(const fs::path& output_dir) {
    run.args.output_dir = output_dir.string();
    run.args.run_name = "comet-run";
    run.args.tracker_flush_timeout = 30;
    run.ctx.model_description = R"({"architecture": "Mlp", "hidden": {"size": 64}})";
    callback = make_comet_callback();
  }
  void begin() { callback->on_train_begin(run.args, run.state, run.control, run.ctx); }
  void log(int64_t step, Json logs) {
    run.state.epoch = step / 10.0;
    for (auto it = logs.begin(); it != logs.end(); ++it)
      logged.insert({rewrite_key(it.key()), step, it.value().dump(), run.state.epoch});
    run.log(*callback, step, logs);
  }
  static std::string rewrite_key(const std::string& k) {
    if (k.rfind("eval_", 0) == 0) return "eval/" + k.substr(5);
    return "train/" + k;
  }
  void steps(int64_t from, int64_t to, double scale = 1.0) {
    for (int64_t s = from; s <= to; ++s) {
      log(s, Json{{"loss", scale / static_cast<double>(s)}, {"learning_rate", 1e-3}, {"epoch", s / 10.0}});
      if (s % 5 == 0) {
        log(s, Json{{"eval_loss", 0.5}, {"epoch", s / 10.0}});
        run.state.global_step = s;
        callback->on_save(run.args, run.state, run.control, run.ctx);
      }
    }
  }
  void end() { callback->on_train_end(run.args, run.state, run.control, run.ctx); }
};

std::multiset<Point> received(const testing::StoredExperiment& e) {
  std::multiset<Point> out;
  for (const auto& m : e.metrics) out.insert({m.name, m.step, m.value.dump(), m.epoch});
  return out;
}

TEST_F(CometTest, SettingsNameTheVariableThatIsWrong) {
  env.set("COMET_MODE", "sometimes");
  EXPECT_THROW(CometSettings::from_environment(), ArgumentError);
  env.set("COMET_MODE", "get");
  try {
    CometSettings::from_environment();
    FAIL() << "no error";
  } catch (const ArgumentError& e) {
    EXPECT_NE(std::string(e.what()).find("COMET_EXPERIMENT_KEY"), std::string::npos);
  }
  env.unset("COMET_MODE").set("COMET_START_ONLINE", "maybe");
  EXPECT_THROW(CometSettings::from_environment(), ArgumentError);
  env.unset("COMET_START_ONLINE").set("COMET_URL_OVERRIDE", "comet.example.com");
  EXPECT_THROW(CometSettings::from_environment(), ArgumentError);
  EXPECT_EQ(comet_api_url("https://comet.example.com:8443/clientlib/"), "https://comet.example.com:8443/api/rest/v2");
  env.unset("COMET_URL_OVERRIDE");
  EXPECT_FALSE(CometSettings::from_environment().online);  // no key: offline
  env.set("COMET_API_KEY", kKey);
  EXPECT_TRUE(CometSettings::from_environment().online);
  env.set("COMET_START_ONLINE", "0");
  EXPECT_FALSE(CometSettings::from_environment().online);
}

TEST_F(CometTest, OnlineExperimentHoldsTheRunInRequestsOfTheRightShape) {
  online();
  env.set("COMET_WORKSPACE", "vision").set("COMET_PROJECT_NAME", "fashion");
  DrivenRun r(tmp.path() / "out");
  r.begin();
  r.steps(1, 10);
  r.end();
  EXPECT_TRUE(server.violations().empty()) << server.violations().front();
  const auto experiments = server.experiments();
  ASSERT_EQ(experiments.size(), 1u);
  const auto& e = experiments[0];
  EXPECT_EQ(e.workspace, "vision");
  EXPECT_EQ(e.project, "fashion");
  EXPECT_EQ(e.name, "comet-run");
  EXPECT_EQ(received(e), r.logged);
  EXPECT_EQ(e.duplicate_points, 0);
  EXPECT_EQ(e.parameters.at("args|learning_rate"), "5e-05");
  EXPECT_EQ(e.parameters.at("args|run_name"), "comet-run");
  EXPECT_EQ(e.parameters.at("config|hidden|size"), "64");
  EXPECT_EQ(e.graph, r.run.ctx.model_description);
  EXPECT_EQ(e.others.at("Created from"), "transformers");
  EXPECT_EQ(e.others.at("status"), "FINISHED");
  EXPECT_EQ(e.tags, std::vector<std::string>{"transformers"});
  EXPECT_GT(e.start_time, 0);
  EXPECT_GE(e.end_time, e.start_time);
  EXPECT_TRUE(e.stopped);
}

TEST_F(CometTest, WithoutAWorkspaceTheKeysDefaultIsUsed) {
  online();
  DrivenRun r(tmp.path() / "out");
  r.begin();
  r.steps(1, 2);
  r.end();
  ASSERT_EQ(server.experiments().size(), 1u);
  EXPECT_EQ(server.experiments()[0].workspace, "mock-workspace");
  EXPECT_EQ(server.experiments()[0].project, "general");
}

class CometFaultTest : public CometTest, public ::testing::WithParamInterface<testing::FaultCase> {};

TEST_P(CometFaultTest, EveryMetricArrivesOnceAndTrainingNeverWaits) {
  online();
  DrivenRun r(tmp.path() / "out");
  r.begin();
  GetParam().inject(server.http());
  const auto t0 = std::chrono::steady_clock::now();
  r.steps(1, 15);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 500ms) << "the training thread waited on the network";
  r.end();
  EXPECT_TRUE(server.violations().empty()) << server.violations().front();
  const auto experiments = server.experiments();
  ASSERT_EQ(experiments.size(), 1u);
  EXPECT_EQ(received(experiments[0]), r.logged);
  EXPECT_EQ(experiments[0].duplicate_points, 0);
  EXPECT_TRUE(experiments[0].stopped);
}

INSTANTIATE_TEST_SUITE_P(Faults, CometFaultTest, ::testing::ValuesIn(testing::standard_fault_cases(40)),
                         testing::fault_case_name<::testing::TestParamInfo<testing::FaultCase>>);

TEST_F(CometTest, AnOfflineExperimentIsSentLaterByTrainerSync) {
  env.set("COMET_START_ONLINE", "0").set("COMET_API_KEY", kKey);
  DrivenRun r(tmp.path() / "out");
  r.begin();
  r.steps(1, 10);
  r.end();
  r.callback.reset();  // the training process has ended before `trainer sync`
  EXPECT_TRUE(server.experiments().empty());
  std::vector<fs::path> journals;
  for (const auto& e : fs::directory_iterator(tmp.path() / "offline")) journals.push_back(e.path());
  ASSERT_EQ(journals.size(), 1u);
  EXPECT_TRUE(fs::exists(journals[0] / "journal.jsonl"));
  for (const auto& e : fs::recursive_directory_iterator(tmp.path()))
    if (e.is_regular_file()) EXPECT_EQ(read_file(e.path()).find(kKey), std::string::npos) << e.path();
  online();
  auto sender = sender_for_journal(journals[0], journals[0].string());
  EXPECT_EQ(sender->finish(20s).unsent, 0);
  EXPECT_TRUE(server.violations().empty()) << server.violations().front();
  ASSERT_EQ(server.experiments().size(), 1u);
  EXPECT_EQ(received(server.experiments()[0]), r.logged);
  EXPECT_TRUE(server.experiments()[0].stopped);
}

TEST_F(CometTest, ResumeLogsIntoTheSameExperimentAndSkipsWhatWasLogged) {
  online();
  // logs past its checkpoint at step 5, then dies without ending the run
  const Json checkpoint_state = testing::checkpoint_state_of_killed_run<DrivenRun>(tmp.path() / "out", 5, 8);
  ASSERT_FALSE(checkpoint_state.is_null());
  env.set("COMET_START_ONLINE", "0");
  DrivenRun first(tmp.path() / "unused");  // the killed process's calls again, offline: what it logged
  env.unset("COMET_START_ONLINE");
  first.steps(1, 8);
  DrivenRun second(tmp.path() / "out");
  std::dynamic_pointer_cast<StatefulTrackerCallback>(second.callback)->load_state(checkpoint_state);
  second.run.state.global_step = 5;
  second.begin();
  second.steps(6, 10);
  second.end();
  EXPECT_TRUE(server.violations().empty()) << server.violations().front();
  ASSERT_EQ(server.experiments().size(), 1u) << "the resume made a new experiment";
  std::multiset<Point> expected = first.logged;
  for (const auto& p : second.logged)
    if (std::get<1>(p) > 8) expected.insert(p);
  EXPECT_EQ(received(server.experiments()[0]), expected);
}

TEST_F(CometTest, LogAssetsUploadsTheOutputDirectory) {
  online();
  env.set("COMET_LOG_ASSETS", "TRUE");
  fs::create_directories(tmp.path() / "out" / "checkpoint-5");
  std::ofstream(tmp.path() / "out" / "checkpoint-5" / "model.safetensors") << "weights";
  std::ofstream(tmp.path() / "out" / "trainer_state.json") << "{}";
  DrivenRun r(tmp.path() / "out");
  r.begin();
  r.steps(1, 5);
  r.end();
  EXPECT_TRUE(server.violations().empty()) << server.violations().front();
  ASSERT_EQ(server.experiments().size(), 1u);
  const auto assets = server.experiments()[0].assets;
  ASSERT_EQ(assets.count("checkpoint-5/model.safetensors"), 1u);
  EXPECT_EQ(assets.at("checkpoint-5/model.safetensors"), "weights");
  EXPECT_EQ(assets.count("trainer_state.json"), 1u);
  for (const auto& [name, bytes] : assets) EXPECT_EQ(name.rfind("tracking/", 0), std::string::npos) << name;
}

TEST_F(CometTest, AFailedRunIsMarkedFailed) {
  online();
  DrivenRun r(tmp.path() / "out");
  r.begin();
  r.steps(1, 3);
  r.callback->on_exception(r.run.args, r.run.state, r.run.control, r.run.ctx);
  ASSERT_EQ(server.experiments().size(), 1u);
  EXPECT_EQ(server.experiments()[0].others.at("status"), "FAILED");
}

}  // namespace
}  // namespace trainer
