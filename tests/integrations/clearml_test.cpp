// ClearMLCallback against a mock ClearML API server on 127.0.0.1 (request shapes, the
// newline-delimited batch, the token refresh, each fault of the issue: every scalar once, the task
// completed or failed), the offline session folder file by file, and clearml.conf's errors.
#include "trainer/integrations/clearml/clearml_tracker.h"

#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <set>

#include "fake_run.h"
#include "fault_cases.h"
#include "mock_clearml_server.h"
#include "scoped_env.h"
#include "test_support.h"
#include "trainer/core/argument_spec.h"
#include "trainer/integrations/registry.h"
#include "trainer/net/http_client.h"

namespace trainer {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;
using testing::MockClearMLServer;
using testing::read_file;

const char* kAccess = "ACCESSKEY123";
const char* kSecret = "secret-clearml-key-456";

struct Scalar {
  std::string metric, variant;
  int64_t iter;
  double value;
  bool operator==(const Scalar& o) const {
    return metric == o.metric && variant == o.variant && iter == o.iter && value == o.value;
  }
  bool operator<(const Scalar& o) const {
    return std::tie(metric, variant, iter, value) < std::tie(o.metric, o.variant, o.iter, o.value);
  }
};
void PrintTo(const Scalar& s, std::ostream* os) {
  *os << s.metric << "/" << s.variant << "@" << s.iter << "=" << s.value;
}

struct DrivenRun {
  testing::FakeRun run;
  std::shared_ptr<StatefulTrackerCallback> callback;
  std::multiset<Scalar> expected;  // every scalar the task must end with
  explicit DrivenRun(const fs::path& out) {
    run.args.output_dir = out.string();
    run.args.run_name = "clearml-run";
    run.args.tracker_flush_timeout = 30;
    run.ctx.model_description = R"({"architecture": "Mlp", "hidden": 64})";
    callback = make_clearml_callback();
  }
  void begin() { callback->on_train_begin(run.args, run.state, run.control, run.ctx); }
  void steps(int64_t from, int64_t to) {
    const std::string suffix;  // received() takes the task's suffix off
    for (int64_t s = from; s <= to; ++s) {
      run.log(*callback, s, Json{{"loss", 1.0 / s}, {"learning_rate", 1e-3}, {"epoch", s / 10.0}});
      expected.insert({"train" + suffix, "loss", s, 1.0 / s});
      expected.insert({"train" + suffix, "learning_rate", s, 1e-3});
      expected.insert({"Summary", "epoch" + suffix, -2147483648LL, s / 10.0});
      if (s % 5 == 0) {
        run.log(*callback, s, Json{{"eval_loss", 0.5}, {"eval_note", "text"}});
        expected.insert({"eval" + suffix, "loss", s, 0.5});
        run.state.global_step = s;
        callback->on_save(run.args, run.state, run.control, run.ctx);
      }
    }
  }
  void final_metrics(int64_t step) {
    run.log(*callback, step, Json{{"train_runtime", 1.5}, {"train_loss", std::nan("")}});
    expected.insert({"Summary", "train_runtime", -2147483648LL, 1.5});
    expected.insert({"Summary", "train_loss", -2147483648LL, 0.0});  // NaN reported as 0, as the SDK
  }
  void end() { callback->on_train_end(run.args, run.state, run.control, run.ctx); }
};

// The task's scalars with its suffix taken off: the process's first train() has none, each later
// one _2, _3, ... (a class-level count, as the original's, so the tests' order decides it); the
// suffix must be the task name's, on every title and on the Summary series.
Scalar without_suffix(Scalar s, const std::string& task_name) {
  const size_t underscore = task_name.rfind('_');
  const std::string suffix = underscore == std::string::npos ? "" : task_name.substr(underscore);
  std::string& text = s.metric == "Summary" ? s.variant : s.metric;
  if (!suffix.empty() && text.size() > suffix.size() &&
      text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0)
    text.resize(text.size() - suffix.size());
  return s;
}

std::multiset<Scalar> received(const testing::StoredClearMLTask& t) {
  std::multiset<Scalar> out;
  for (const auto& s : t.scalars) out.insert(without_suffix({s.metric, s.variant, s.iter, s.value}, t.name));
  return out;
}

class ClearMLTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* v : {"CLEARML_PROJECT", "CLEARML_TASK", "CLEARML_LOG_MODEL", "CLEARML_FILES_HOST",
                          "CLEARML_AUTH_TOKEN", "CLEARML_OFFLINE_MODE", "CLEARML_API_HOST_VERIFY_CERT",
                          "CLEARML_CACHE_DIR", "CLEARML_API_ACCESS_KEY", "CLEARML_API_SECRET_KEY", "CLEARML_API_HOST"})
      env.unset(v);
    env.set("CLEARML_CONFIG_FILE", (tmp.path() / "clearml.conf").string());
  }
  void online() {
    env.set("CLEARML_API_HOST", server.url())
        .set("CLEARML_API_ACCESS_KEY", kAccess)
        .set("CLEARML_API_SECRET_KEY", kSecret);
  }
  testing::ScopedEnv env;
  testing::TempDir tmp;
  MockClearMLServer server{basic_authorization(kAccess, kSecret)};
};

TEST_F(ClearMLTest, ATaskArrivesWholeInRequestsOfTheRightShape) {
  online();
  env.set("CLEARML_PROJECT", "fashion").set("CLEARML_TASK", "mlp");
  DrivenRun r(tmp.path() / "out");
  r.begin();
  r.steps(1, 10);
  r.final_metrics(10);
  r.end();
  EXPECT_TRUE(server.violations().empty()) << server.violations().front();
  const auto tasks = server.tasks();
  ASSERT_EQ(tasks.size(), 1u);
  const auto& t = tasks[0];
  EXPECT_EQ(t.project, "fashion");
  EXPECT_EQ(t.name.substr(0, 3), "mlp");
  EXPECT_EQ(t.status, "completed");
  EXPECT_EQ(received(t), r.expected);
  EXPECT_EQ(t.duplicate_events, 0);
  const std::string section = t.name == "mlp" ? "Transformers" : "Transformers" + t.name.substr(3);
  EXPECT_EQ(t.hyperparams.at(section).at("learning_rate").at("value"), "5e-05");
  EXPECT_EQ(t.hyperparams.at(section).at("learning_rate").at("type"), "float");
  EXPECT_EQ(t.hyperparams.at("Transformers").at("_ignore_hparams_ui_overrides_").at("value"), "True");
  EXPECT_EQ(t.hyperparams.at("Transformers").at("_ignore_model_config_ui_overrides_").at("type"), "bool");
  const Json config = t.configuration.begin().value();
  EXPECT_EQ(config.at("type"), "dictionary");
  EXPECT_EQ(parse_json(config.at("value").get<std::string>()).at("hidden"), 64);
  EXPECT_EQ(server.projects().size(), 1u);
}

// The server handles the create and the answer is lost (a reset, a proxy's timeout): the retry
// must find the task it made, not make a second, empty one. The same for the project.
TEST_F(ClearMLTest, ACreateWhoseAnswerWasLostMakesOneTaskAndOneProject) {
  online();
  for (const char* lost : {"tasks.create", "projects.create"}) {
    SCOPED_TRACE(lost);
    env.set("CLEARML_PROJECT",
            std::string(lost) == "tasks.create" ? "losttask" : "lostproject");  // the mock matches names unescaped
    testing::lose_answers(server.http(), 1, lost);
    const size_t tasks_before = server.tasks().size();
    DrivenRun r(tmp.path() / lost);
    r.begin();
    r.steps(1, 6);
    r.end();
    EXPECT_EQ(server.http().faults().lose_answer_next, 0) << "the fault never fired";
    EXPECT_TRUE(server.violations().empty()) << server.violations().front();
    const auto tasks = server.tasks();
    ASSERT_EQ(tasks.size(), tasks_before + 1) << "the retry created a second task";
    EXPECT_EQ(received(tasks.back()), r.expected);
    EXPECT_EQ(tasks.back().status, "completed");
  }
  EXPECT_EQ(server.projects().size(), 2u) << "the retry created a second project";
}

TEST_F(ClearMLTest, AnExpiredTokenIsRenewedAndNothingIsLost) {
  online();
  DrivenRun r(tmp.path() / "out");
  r.begin();
  r.steps(1, 5);
  auto* tracker = dynamic_cast<RemoteTracker*>(r.callback->active_tracker());
  for (int i = 0; i < 100 && !tracker->sender()->idle(); ++i) std::this_thread::sleep_for(50ms);
  server.expire_tokens();
  r.steps(6, 10);
  r.end();
  ASSERT_EQ(server.tasks().size(), 1u);
  EXPECT_EQ(received(server.tasks()[0]), r.expected);
  EXPECT_GE(server.logins(), 2);
}

TEST_F(ClearMLTest, AFailedRunMarksTheTaskFailed) {
  online();
  DrivenRun r(tmp.path() / "out");
  r.begin();
  r.steps(1, 3);
  r.callback->on_exception(r.run.args, r.run.state, r.run.control, r.run.ctx);
  ASSERT_EQ(server.tasks().size(), 1u);
  EXPECT_EQ(server.tasks()[0].status, "failed");
}

TEST_F(ClearMLTest, ALaterTrainCallGetsTheNextSuffix) {
  online();
  DrivenRun a(tmp.path() / "a");
  a.begin();
  a.steps(1, 2);
  a.end();
  DrivenRun b(tmp.path() / "b");
  b.begin();
  b.end();
  const auto tasks = server.tasks();
  ASSERT_EQ(tasks.size(), 2u);
  // The process's first run has no suffix (here: other tests of this process ran before), each later one the next.
  const auto number = [](const std::string& name) {
    return name.find('_') == std::string::npos ? 1 : std::stoi(name.substr(name.find('_') + 1));
  };
  EXPECT_EQ(number(tasks[1].name), number(tasks[0].name) + 1);
  EXPECT_EQ(tasks[1].hyperparams.count("Transformers_" + std::to_string(number(tasks[1].name))), 1u);
  EXPECT_EQ(tasks[1].name.substr(0, 8), "Trainer_");
  EXPECT_EQ(tasks[1].configuration.begin().key().substr(0, 20), "Model Configuration_");
}

TEST_F(ClearMLTest, BadCredentialsKeepEverythingForTrainerSync) {
  env.set("CLEARML_API_HOST", server.url())
      .set("CLEARML_API_ACCESS_KEY", kAccess)
      .set("CLEARML_API_SECRET_KEY", "wrong");
  testing::CapturedLogs logs;
  DrivenRun r(tmp.path() / "out");
  r.run.args.tracker_flush_timeout = 1;
  r.begin();
  r.steps(1, 5);
  r.end();
  r.callback.reset();
  EXPECT_TRUE(server.tasks().empty());
  EXPECT_TRUE(logs.contains("HTTP 401"));
  EXPECT_FALSE(logs.contains("wrong"));
  online();
  auto sender = sender_for_journal(tmp.path() / "out" / "tracking" / "clearml", (tmp.path() / "out").string());
  EXPECT_EQ(sender->finish(10s).unsent, 0);
  ASSERT_EQ(server.tasks().size(), 1u);
  EXPECT_EQ(received(server.tasks()[0]), r.expected);
  EXPECT_EQ(server.tasks()[0].status, "completed");
}

class ClearMLFaultTest : public ClearMLTest, public ::testing::WithParamInterface<testing::FaultCase> {};

TEST_P(ClearMLFaultTest, EveryScalarArrivesOnceAndTrainingNeverWaits) {
  online();
  DrivenRun r(tmp.path() / "out");
  r.begin();
  GetParam().inject(server.http());
  const auto t0 = std::chrono::steady_clock::now();
  r.steps(1, 15);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 500ms) << "the training thread waited on the network";
  r.end();
  EXPECT_TRUE(server.violations().empty()) << server.violations().front();
  const auto tasks = server.tasks();
  ASSERT_EQ(tasks.size(), 1u);
  EXPECT_EQ(received(tasks[0]), r.expected);
  EXPECT_EQ(tasks[0].duplicate_events, 0);
  EXPECT_EQ(tasks[0].status, "completed");
}

INSTANTIATE_TEST_SUITE_P(Faults, ClearMLFaultTest, ::testing::ValuesIn(testing::standard_fault_cases()),
                         testing::fault_case_name<::testing::TestParamInfo<testing::FaultCase>>);

// A zip's entries as Python's zipfile reads them (after its CRC check): "name=bytes;..." in order.
std::string python_unzip(const fs::path& zip) {
  static int n = 0;
  const fs::path out =
      fs::temp_directory_path() / ("trainer-unzip-" + std::to_string(::getpid()) + "-" + std::to_string(n++) + ".txt");
  const std::string cmd = std::string(TRAINER_PYTHON) +
                          " -c \"import zipfile, sys; z = zipfile.ZipFile(sys.argv[1]); assert z.testzip() is None; "
                          "print(';'.join(n + '=' + z.read(n).decode() for n in z.namelist()), end='')\" '" +
                          zip.string() + "' > '" + out.string() + "'";
  EXPECT_EQ(std::system(cmd.c_str()), 0);
  const std::string text = read_file(out);
  fs::remove(out);
  return text;
}

// Steps 1..10 with checkpoint-5 and checkpoint-10 published (and rotated away before the upload).
void steps_with_checkpoints(DrivenRun& r) {
  for (int step : {5, 10}) {
    r.steps(step - 4, step);
    r.run.publish_checkpoint(*r.callback, step,
                             {{"model.safetensors", "weights " + std::to_string(step)}, {"trainer_state.json", "{}"}});
  }
}

TEST_F(ClearMLTest, CheckpointsAreZippedOutputModelsRotatedWithSaveTotalLimit) {
  online();
  env.set("CLEARML_FILES_HOST", server.url());
  DrivenRun r(tmp.path() / "out");
  r.run.args.save_total_limit = 1;
  r.begin();
  steps_with_checkpoints(r);
  r.end();
  EXPECT_TRUE(server.violations().empty()) << server.violations().front();
  const auto tasks = server.tasks();
  ASSERT_EQ(tasks.size(), 1u);
  const std::string suffix =
      tasks[0].name.find('_') == std::string::npos ? "" : tasks[0].name.substr(tasks[0].name.find('_'));
  const auto models = server.models();
  ASSERT_EQ(models.size(), 1u);  // checkpoint-5's deleted beyond save_total_limit
  EXPECT_EQ(models[0].name, "checkpoint-10" + suffix);
  EXPECT_EQ(models[0].iteration, 10);
  EXPECT_EQ(models[0].framework, "PyTorch");
  EXPECT_EQ(models[0].task, tasks[0].id);
  const std::string path =
      "HuggingFace Transformers/" + tasks[0].name + "." + tasks[0].id + "/models/checkpoint-10" + suffix + ".zip";
  EXPECT_EQ(models[0].uri, server.url() + "/" + url_encode_path(path));
  const auto files = server.files();
  ASSERT_EQ(files.size(), 1u);  // the rotated model's weights deleted from the files server too
  ASSERT_EQ(files.count(path), 1u);
  std::ofstream(tmp.path() / "model.zip", std::ios::binary) << files.at(path);
  EXPECT_EQ(python_unzip(tmp.path() / "model.zip"), "model.safetensors=weights 10;trainer_state.json={}");
}

TEST_F(ClearMLTest, AModelWhoseCreateAnswerWasLostIsListedOnce) {
  online();
  env.set("CLEARML_FILES_HOST", server.url());
  testing::lose_answers(server.http(), 1, "models.create");
  DrivenRun r(tmp.path() / "out");
  r.begin();
  steps_with_checkpoints(r);
  r.end();
  EXPECT_EQ(server.http().faults().lose_answer_next, 0) << "the fault never fired";
  EXPECT_TRUE(server.violations().empty()) << server.violations().front();
  const auto models = server.models();
  ASSERT_EQ(models.size(), 2u) << "checkpoint-5 and checkpoint-10, each once";
  EXPECT_NE(models[0].name, models[1].name);
  EXPECT_EQ(models[1].iteration, 10);
}

TEST_F(ClearMLTest, TheOfflineSessionHoldsTheTaskFileByFile) {
  env.set("CLEARML_OFFLINE_MODE", "1")
      .set("CLEARML_CACHE_DIR", (tmp.path() / "cache").string())
      .set("CLEARML_API_ACCESS_KEY", kAccess)
      .set("CLEARML_API_SECRET_KEY", kSecret);
  DrivenRun r(tmp.path() / "out");
  r.run.args.save_total_limit = 1;
  r.begin();
  steps_with_checkpoints(r);
  r.final_metrics(10);
  r.end();
  EXPECT_TRUE(server.tasks().empty());
  std::vector<fs::path> sessions;
  for (const auto& e : fs::directory_iterator(tmp.path() / "cache" / "offline")) sessions.push_back(e.path());
  ASSERT_EQ(sessions.size(), 1u);
  const fs::path dir = sessions[0];
  EXPECT_EQ(dir.filename().string().substr(0, 8), "offline-");
  EXPECT_EQ(dir.filename().string().size(), 8u + 32u);
  EXPECT_TRUE(fs::is_directory(dir / "data"));
  const Json task = parse_json(read_file(dir / "task.json"));
  EXPECT_EQ(task.at("id"), dir.filename().string());
  EXPECT_EQ(task.at("project_name"), "HuggingFace Transformers");
  EXPECT_EQ(task.at("status"), "completed");
  EXPECT_EQ(task.at("offline_folder"), dir.string());
  ASSERT_EQ(task.at("offline_output_models").size(), 1u);  // checkpoint-5's removed beyond save_total_limit
  const Json model = task.at("offline_output_models")[0];
  EXPECT_EQ(model.at("iteration"), 10);
  EXPECT_EQ(python_unzip(model.at("local_path").get<std::string>()),
            "model.safetensors=weights 10;trainer_state.json={}");
  EXPECT_EQ(fs::path(model.at("local_path").get<std::string>()).parent_path(), dir / "data");
  std::vector<std::string> data;
  for (const auto& e : fs::directory_iterator(dir / "data")) data.push_back(e.path().filename().string());
  EXPECT_EQ(data, std::vector<std::string>{fs::path(model.at("local_path").get<std::string>()).filename().string()});
  EXPECT_TRUE(task.at("hyperparams").contains("Transformers"));
  std::multiset<Scalar> got;
  std::ifstream metrics(dir / "metrics.jsonl");
  for (std::string line; std::getline(metrics, line);) {
    const Json events = parse_json(line);
    ASSERT_TRUE(events.is_array()) << line;  // one array of events per line
    for (const auto& e : events) {
      EXPECT_EQ(e.at("type"), "training_stats_scalar");
      EXPECT_EQ(e.at("task"), task.at("id"));
      got.insert(without_suffix({e.at("metric"), e.at("variant"), e.at("iter"), e.at("value")}, task.at("name")));
    }
  }
  EXPECT_EQ(got, r.expected);
  std::ifstream log(dir / "log.jsonl");
  std::string first;
  std::getline(log, first);
  EXPECT_EQ(parse_json(first).at(0).at("type"), "log");
  for (const auto& e : fs::recursive_directory_iterator(tmp.path()))
    if (e.is_regular_file()) EXPECT_EQ(read_file(e.path()).find(kSecret), std::string::npos) << e.path();
}

TEST_F(ClearMLTest, ClearmlConfIsReadAndItsErrorsNameFileAndLine) {
  std::ofstream(tmp.path() / "clearml.conf")
      << "# written by clearml-init\napi {\n  api_server: " << server.url()
      << "\n  files_server = \"http://files:8081\"\n  credentials {\"access_key\": \"" << kAccess
      << "\", \"secret_key\": \"" << kSecret << "\"}\n  verify_certificate: false\n}\n"
      << "sdk.storage.cache.default_base_dir: \"/tmp/cc\"  // a comment\n";
  const ClearMLSettings s = ClearMLSettings::from_environment();
  EXPECT_EQ(s.api_host, server.url());
  EXPECT_EQ(s.files_host, "http://files:8081");
  EXPECT_EQ(s.access_key, kAccess);
  EXPECT_EQ(s.secret_key, kSecret);
  EXPECT_FALSE(s.verify_cert);
  EXPECT_EQ(s.cache_dir, "/tmp/cc");
  env.set("CLEARML_API_HOST", "http://elsewhere:8008");
  EXPECT_EQ(ClearMLSettings::from_environment().api_host, "http://elsewhere:8008");  // the environment wins
  std::ofstream(tmp.path() / "clearml.conf") << "api {\n  api_server: http://x\n  this line is wrong\n}\n";
  try {
    ClearMLSettings::from_environment();
    FAIL() << "no error";
  } catch (const ArgumentError& e) {
    EXPECT_NE(e.command_line_message().find("clearml.conf:3: expected 'key: value'"), std::string::npos) << e.what();
  }
  std::ofstream(tmp.path() / "clearml.conf") << "api {\n  api_server: http://x\n";
  EXPECT_THROW(ClearMLSettings::from_environment(), ArgumentError);
  std::ofstream(tmp.path() / "clearml.conf") << "";
  env.unset("CLEARML_API_HOST").set("CLEARML_OFFLINE_MODE", "perhaps");
  EXPECT_THROW(ClearMLSettings::from_environment(), ArgumentError);
  env.unset("CLEARML_OFFLINE_MODE");
  EXPECT_THROW(make_clearml_callback(), ArgumentError);  // no credentials, not offline
}

}  // namespace
}  // namespace trainer
