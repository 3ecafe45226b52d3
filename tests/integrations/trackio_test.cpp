// TrackioCallback: the project database read back with SQLite (tables, columns, JSON values), two
// runs and a resume in one database, and a database that another process holds: training does not
// wait, nothing is lost, and what the end's budget cannot write is kept.
#include "trainer/core/trainer_control.h"
#include "trainer/core/trainer_state.h"
#include "trainer/core/training_arguments.h"
#include "trainer/integrations/trackio/trackio_tracker.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/file.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <fstream>
#include <limits>

#include "fake_run.h"
#include "killed_process.h"
#include "scoped_env.h"
#include "test_support.h"

namespace trainer {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

struct DbRow {
  std::string run_id, run_name, timestamp;
  int64_t step;
  Json metrics;
};

// Every row of the metrics table, in insertion order; SQLite's own reader, nothing of the library's.
std::vector<DbRow> metrics_rows(const fs::path& db_path) {
  sqlite3* db = nullptr;
  std::vector<DbRow> out;
  if (sqlite3_open_v2(db_path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) return out;  // not created yet
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(db, "SELECT run_id, run_name, timestamp, step, metrics FROM metrics ORDER BY id", -1, &stmt,
                         nullptr) != SQLITE_OK) {
    EXPECT_EQ(std::string(sqlite3_errmsg(db)), "no such table: metrics");  // nothing written yet
    sqlite3_close(db);
    return out;
  }
  auto text = [&](int i) { return std::string(reinterpret_cast<const char*>(sqlite3_column_text(stmt, i))); };
  while (sqlite3_step(stmt) == SQLITE_ROW)
    out.push_back({text(0), text(1), text(2), sqlite3_column_int64(stmt, 3), Json::parse(text(4))});
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return out;
}

std::string query_one(const fs::path& db_path, const std::string& sql) {
  sqlite3* db = nullptr;
  sqlite3_open_v2(db_path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr);
  sqlite3_stmt* stmt = nullptr;
  std::string out;
  if (sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr) == SQLITE_OK && sqlite3_step(stmt) == SQLITE_ROW)
    out = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return out;
}

// A step's log, and the row trackio must hold for it.
Json log_at(int64_t s, double scale = 1.0) {
  return Json{{"loss", scale / static_cast<double>(s)}, {"learning_rate", 1e-3}, {"epoch", s / 10.0}};
}
Json row_at(int64_t s, double scale = 1.0) {
  return Json{{"train/loss", scale / static_cast<double>(s)},
              {"train/learning_rate", 1e-3},
              {"train/epoch", s / 10.0},
              {"train/global_step", s}};
}

struct DrivenRun {
  testing::FakeRun run;
  std::shared_ptr<StatefulTrackerCallback> callback;
  std::vector<Json> rows;  // what the metrics table must hold for this run, in order

  explicit DrivenRun(const fs::path& output_dir, const std::string& name = "trackio-run") {
    run.args.output_dir = output_dir.string();
    run.args.run_name = name;
    run.args.project = "my project!";
    run.args.tracker_flush_timeout = 30;
    run.ctx.model_description = R"({"architecture": "Mlp", "num_parameters": 1234})";
    callback = make_trackio_callback();
  }
  void begin() { callback->on_train_begin(run.args, run.state, run.control, run.ctx); }
  void steps(int64_t from, int64_t to, double scale = 1.0) {
    for (int64_t s = from; s <= to; ++s) {
      run.log(*callback, s, log_at(s, scale));
      rows.push_back(row_at(s, scale));
      if (s % 5 == 0) {
        run.state.global_step = s;
        callback->on_save(run.args, run.state, run.control, run.ctx);
      }
    }
  }
  void end() { callback->on_train_end(run.args, run.state, run.control, run.ctx); }
  TrackioTracker& tracker() { return dynamic_cast<TrackioTracker&>(*callback->active_tracker()); }
};

class TrackioTest : public ::testing::Test {
 protected:
  void SetUp() override {
    env.set("TRACKIO_DIR", (tmp.path() / "trackio").string()).unset("TRACKIO_PROJECT").unset("TRACKIO_SPACE_ID");
  }
  fs::path db() const { return tmp.path() / "trackio" / "myproject.db"; }
  testing::ScopedEnv env;
  testing::TempDir tmp;
};

std::vector<Json> metrics_of(const std::vector<DbRow>& rows, const std::string& run_name) {
  std::vector<Json> out;
  for (const auto& r : rows)
    if (r.run_name == run_name) out.push_back(r.metrics);
  return out;
}

TEST(TrackioStorage, ProjectNamesAndValuesAsTrackioStoresThem) {
  EXPECT_EQ(trackio_canonical_project("my project!"), "myproject");
  EXPECT_EQ(trackio_canonical_project("a_b-c.d"), "a_b-cd");
  EXPECT_EQ(trackio_canonical_project("../.."), "default");
  const double inf = std::numeric_limits<double>::infinity();
  EXPECT_EQ(trackio_json(Json{{"a", std::nan("")}, {"b", inf}, {"c", -inf}, {"d", 1.5}, {"e", Json::array({inf})}}),
            (Json{{"a", "NaN"}, {"b", "Infinity"}, {"c", "-Infinity"}, {"d", 1.5}, {"e", Json::array({"Infinity"})}}));
}

TEST_F(TrackioTest, TheDatabaseHoldsTheConfigAndEveryRowWithItsStep) {
  DrivenRun r(tmp.path() / "out");
  r.begin();
  r.steps(1, 10);
  r.run.log(*r.callback, 10, Json{{"train_runtime", 1.5}, {"train_loss", 0.25}, {"total_flos", 1e9}, {"epoch", 1.0}});
  r.rows.push_back(Json{{"train/epoch", 1.0}, {"train/global_step", 10}});  // the single values dropped
  r.run.log(*r.callback, 10, Json{{"eval_loss", std::nan("")}, {"eval_note", "text"}});
  r.rows.push_back(Json{{"eval/loss", "NaN"}, {"eval/note", "text"}, {"train/global_step", 10}});
  r.end();
  const auto rows = metrics_rows(db());
  ASSERT_EQ(rows.size(), r.rows.size());
  EXPECT_EQ(metrics_of(rows, "trackio-run"), r.rows);
  for (size_t i = 0; i < rows.size(); ++i) {
    EXPECT_EQ(rows[i].step, static_cast<int64_t>(i));  // trackio's own step: one per log call
    EXPECT_EQ(rows[i].run_id, rows[0].run_id);
    EXPECT_EQ(rows[i].timestamp.size(), 32u) << rows[i].timestamp;  // 2026-12-01T18:40:12.345678+00:00
    EXPECT_EQ(rows[i].timestamp.substr(26), "+00:00");
  }
  const Json config = Json::parse(query_one(db(), "SELECT config FROM configs WHERE run_name = 'trackio-run'"));
  EXPECT_EQ(config.at("model/num_parameters"), 1234);
  EXPECT_EQ(config.at("architecture"), "Mlp");
  EXPECT_EQ(config.at("run_name"), "trackio-run");
  EXPECT_EQ(query_one(db(), "SELECT run_id FROM configs"), rows[0].run_id);
  EXPECT_TRUE(fs::exists(tmp.path() / "trackio" / "myproject.lock"));
  for (const char* table : {"system_metrics", "project_metadata"})
    EXPECT_EQ(query_one(db(), std::string("SELECT name FROM sqlite_master WHERE name = '") + table + "'"), table);
}

TEST_F(TrackioTest, SeveralRunsShareTheProjectDatabase) {
  for (const char* name : {"first", "second"}) {
    DrivenRun r(tmp.path() / name, name);
    r.begin();
    r.steps(1, 3);
    r.end();
  }
  const auto rows = metrics_rows(db());
  EXPECT_EQ(metrics_of(rows, "first").size(), 3u);
  EXPECT_EQ(metrics_of(rows, "second").size(), 3u);
  EXPECT_EQ(query_one(db(), "SELECT COUNT(*) FROM configs"), "2");
  EXPECT_NE(query_one(db(), "SELECT run_id FROM configs WHERE run_name = 'first'"),
            query_one(db(), "SELECT run_id FROM configs WHERE run_name = 'second'"));
}

TEST_F(TrackioTest, ResumeContinuesTheRunAndReplacesTheRowsAfterTheCheckpoint) {
  const fs::path state_file = tmp.path() / "state.json";
  ASSERT_TRUE(testing::run_in_killed_process([&] {
    DrivenRun first(tmp.path() / "out");
    first.begin();
    first.steps(1, 5);
    std::ofstream(state_file) << first.callback->state().dump();
    first.steps(6, 8);
    first.tracker().flush();  // rows 6..8 reach the database, then the process dies
  }));
  ASSERT_EQ(metrics_rows(db()).size(), 8u);
  DrivenRun second(tmp.path() / "out");
  second.callback->load_state(parse_json(testing::read_file(state_file)));
  second.run.state.global_step = 5;
  second.begin();
  second.steps(6, 10, 2.0);
  second.end();
  std::vector<Json> want;  // steps 1..5 of the first process, then the second's 6..10
  for (int64_t s = 1; s <= 5; ++s) want.push_back(row_at(s));
  want.insert(want.end(), second.rows.begin(), second.rows.end());
  auto rows = metrics_rows(db());
  EXPECT_EQ(metrics_of(rows, "trackio-run"), want);
  std::sort(rows.begin(), rows.end(), [](const DbRow& a, const DbRow& b) { return a.step < b.step; });
  for (size_t i = 0; i < rows.size(); ++i) EXPECT_EQ(rows[i].step, static_cast<int64_t>(i));  // 0..9, once each
  EXPECT_EQ(query_one(db(), "SELECT COUNT(*) FROM configs"), "1");
}

class HeldLock {
 public:
  explicit HeldLock(const fs::path& lock_file) {
    fs::create_directories(lock_file.parent_path());
    fd_ = ::open(lock_file.c_str(), O_RDWR | O_CREAT, 0644);
    EXPECT_EQ(::flock(fd_, LOCK_EX), 0);
  }
  ~HeldLock() { release(); }
  void release() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
};

TEST_F(TrackioTest, ABusyDatabaseDoesNotSlowTrainingAndLosesNothing) {
  testing::CapturedLogs logs;
  DrivenRun r(tmp.path() / "out");
  HeldLock other(tmp.path() / "trackio" / "myproject.lock");
  const auto started = std::chrono::steady_clock::now();
  r.begin();
  r.steps(1, 200);
  const auto spent = std::chrono::steady_clock::now() - started;
  EXPECT_LT(spent, 400ms) << "the training thread waited for the database";
  r.tracker().flush();
  EXPECT_TRUE(logs.contains("is busy (another process holds it)"));
  EXPECT_TRUE(metrics_rows(db()).empty());
  other.release();
  r.end();
  EXPECT_EQ(metrics_of(metrics_rows(db()), "trackio-run"), r.rows);
}

TEST_F(TrackioTest, RowsTheEndCannotWriteAreKeptWithAWarning) {
  testing::CapturedLogs logs;
  DrivenRun r(tmp.path() / "out");
  r.run.args.tracker_flush_timeout = 0.3;
  HeldLock other(tmp.path() / "trackio" / "myproject.lock");
  r.begin();
  r.steps(1, 4);
  r.end();
  const fs::path kept = tmp.path() / "out" / "tracking" / "trackio" / "unwritten.jsonl";
  EXPECT_TRUE(logs.contains("4 rows are kept in " + kept.string()));
  std::vector<Json> lines;
  std::ifstream in(kept);
  for (std::string line; std::getline(in, line);) lines.push_back(parse_json(line).at("metrics"));
  EXPECT_EQ(lines, r.rows);
}

TEST_F(TrackioTest, TheProjectComesFromTheArgumentThenTrackioProject) {
  TrainingArguments args;
  EXPECT_EQ(TrackioSettings::from_environment(args).project, "huggingface");
  env.set("TRACKIO_PROJECT", "from-env");
  EXPECT_EQ(TrackioSettings::from_environment(args).project, "from-env");
  args.project = "from-args";
  EXPECT_EQ(TrackioSettings::from_environment(args).project, "from-args");
  EXPECT_EQ(TrackioSettings::from_environment(args).dir, tmp.path() / "trackio");
  env.unset("TRACKIO_DIR").set("HF_HOME", (tmp.path() / "hf").string());
  EXPECT_EQ(TrackioSettings::from_environment(args).dir, tmp.path() / "hf" / "trackio");
}

TEST_F(TrackioTest, ResumeFillsInTheRowsAKilledProcessHadNotWritten) {
  const fs::path state_file = tmp.path() / "state.json";
  {
    HeldLock other(tmp.path() / "trackio" / "myproject.lock");  // the first process writes nothing
    ASSERT_TRUE(testing::run_in_killed_process([&] {
      DrivenRun first(tmp.path() / "out");
      first.begin();
      first.steps(1, 5);
      std::ofstream(state_file) << first.callback->state().dump();
      first.steps(6, 8);
    }));
  }
  EXPECT_TRUE(metrics_rows(db()).empty());
  DrivenRun second(tmp.path() / "out");
  second.callback->load_state(parse_json(testing::read_file(state_file)));
  std::vector<Json> want;
  for (int64_t s = 1; s <= 5; ++s) {  // the checkpoint's log_history
    Json entry = log_at(s);
    entry["step"] = s;
    second.run.state.log_history.push_back(entry);
    want.push_back(row_at(s));
  }
  second.run.state.global_step = 5;
  second.begin();
  second.steps(6, 10, 2.0);
  second.end();
  want.insert(want.end(), second.rows.begin(), second.rows.end());
  const auto rows = metrics_rows(db());
  EXPECT_EQ(metrics_of(rows, "trackio-run"), want);
  for (size_t i = 0; i < rows.size(); ++i) EXPECT_EQ(rows[i].step, static_cast<int64_t>(i));
}

}  // namespace
}  // namespace trainer
