// WandbCallback: the .wandb transaction log's framing, the offline run folder, and the online
// protocol against a mock W&B server on 127.0.0.1 with faults: every row arrives exactly once,
// the run ends with its exit code, and training never waits.
#include <gtest/gtest.h>
#include <zlib.h>

#include <chrono>
#include <fstream>
#include <regex>
#include <thread>

#include "fake_run.h"
#include "fault_cases.h"
#include "integrations/wandb/wandb_log_writer.h"
#include "integrations/wandb/wandb_offline_run.h"
#include "killed_process.h"
#include "mock_wandb_server.h"
#include "scoped_env.h"
#include "test_support.h"
#include "trainer/core/trainer_control.h"
#include "trainer/core/trainer_state.h"
#include "trainer/core/training_arguments.h"
#include "trainer/integrations/registry.h"
#include "trainer/integrations/wandb/wandb_settings.h"
#include "trainer/integrations/wandb/wandb_tracker.h"
#include "trainer/net/digest.h"
#include "trainer/net/http_client.h"
#include "wandb_record.pb.h"

namespace trainer {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;
using testing::MockWandbServer;
using testing::read_file;

const char* kKey = "0123456789abcdef0123456789abcdef01234567";

std::string from_hex(const std::string& hex) {
  std::string out;
  for (size_t i = 0; i < hex.size(); i += 2) out += static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16));
  return out;
}

uint32_t le(const std::string& s, size_t at, int bytes) {
  uint32_t v = 0;
  for (int i = bytes - 1; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(s[at + static_cast<size_t>(i)]);
  return v;
}

// The log's records, read as LevelDB's log reader does; stops (returning what it has) at the
// first chunk that is torn or fails its checksum.
std::vector<std::string> read_records(const std::string& file, bool* clean = nullptr) {
  std::vector<std::string> out;
  if (clean) *clean = false;
  if (file.size() < 7 || file.compare(0, 4, ":W&B") != 0 || le(file, 4, 2) != 0xBEE1 || file[6] != 0) return out;
  size_t pos = 7;
  std::string partial;
  while (pos < file.size()) {
    const size_t left = kWandbBlockSize - pos % kWandbBlockSize;
    if (left < 7) {
      pos += left;
      continue;
    }
    if (pos + 7 > file.size()) return out;
    const uint32_t crc = le(file, pos, 4);
    const size_t length = le(file, pos + 4, 2);
    const int type = static_cast<unsigned char>(file[pos + 6]);
    if (crc == 0 && length == 0 && type == 0) {  // padding to the block's end
      pos += left;
      continue;
    }
    if (pos + 7 + length > file.size() || length + 7 > left) return out;
    const std::string data = file.substr(pos + 7, length);
    const auto type_byte = static_cast<Bytef>(type);
    uLong expected =
        crc32(crc32(0L, &type_byte, 1), reinterpret_cast<const Bytef*>(data.data()), static_cast<uInt>(data.size()));
    if (expected != crc) return out;
    if (type == 1)
      out.push_back(data);
    else if (type == 2)
      partial = data;
    else if (type == 3)
      partial += data;
    else if (type == 4)
      out.push_back(partial + data);
    else
      return out;
    pos += 7 + length;
  }
  if (clean) *clean = true;
  return out;
}

std::vector<wandb_internal::Record> decode(const std::vector<std::string>& records) {
  std::vector<wandb_internal::Record> out;
  for (const auto& r : records) {
    wandb_internal::Record record;
    EXPECT_TRUE(record.ParseFromString(r));
    out.push_back(record);
  }
  return out;
}

TEST(WandbLog, ChunkHeaderMatchesTheDocumentedTestVector) {
  // Record{header{version_info{producer:"mytool"}}}: checksum 0x0300E04A.
  const std::string header = wandb_chunk_header(WandbChunkType::full, from_hex("aa010a0a080a066d79746f6f6c"));
  EXPECT_EQ(header, from_hex("4ae000030d0001"));
}

TEST(WandbLog, RecordsAcrossBlockBoundariesReadBackIntact) {
  testing::TempDir tmp;
  const fs::path path = tmp.path() / "run.wandb";
  std::vector<std::string> written;
  {
    WandbLogWriter log(path);
    // A first record that leaves exactly 3 bytes in block 0 (padding), one that spans several
    // blocks (FIRST, MIDDLE, LAST), one that ends a block exactly, then small ones.
    written.push_back(std::string(kWandbBlockSize - 7 - 7 - 3, 'a'));
    written.push_back(std::string(3 * kWandbBlockSize + 100, 'b'));
    const size_t used = (7 + 7 + written[0].size() + 3 + written[1].size() + 7 * 4) % kWandbBlockSize;
    written.push_back(std::string(kWandbBlockSize - used - 7, 'c'));
    for (int i = 0; i < 100; ++i) written.push_back("record " + std::to_string(i));
    for (const auto& r : written) log.append(r);
  }
  bool clean = false;
  const std::vector<std::string> read = read_records(read_file(path), &clean);
  EXPECT_TRUE(clean);
  EXPECT_EQ(read, written);
}

TEST(WandbLog, AFileCutAnywhereReadsCleanlyUpToItsLastCompleteRecord) {
  testing::TempDir tmp;
  const fs::path path = tmp.path() / "run.wandb";
  {
    WandbLogWriter log(path);
    for (int i = 0; i < 50; ++i)
      log.append(std::string(static_cast<size_t>(1000 + i * 37), static_cast<char>('a' + i % 26)));
  }
  const std::string whole = read_file(path);
  const size_t all = read_records(whole).size();
  ASSERT_EQ(all, 50u);
  size_t previous = 0;
  for (size_t cut = 7; cut < whole.size(); cut += 211) {
    const std::vector<std::string> read = read_records(whole.substr(0, cut));
    EXPECT_GE(read.size(), previous);  // never fewer records from a longer prefix, never a broken one
    for (size_t i = 0; i < read.size(); ++i) EXPECT_EQ(read[i].size(), 1000 + i * 37);
    previous = read.size();
  }
}

class WandbTest : public ::testing::Test {
 protected:
  WandbTest() {
    for (const char* v : {"WANDB_MODE", "WANDB_API_KEY", "WANDB_PROJECT", "WANDB_ENTITY", "WANDB_BASE_URL", "WANDB_DIR",
                          "WANDB_RUN_ID", "WANDB_RUN_GROUP", "WANDB_NAME", "WANDB_TAGS", "WANDB_NOTES",
                          "WANDB_JOB_TYPE", "WANDB_RESUME", "WANDB_LOG_MODEL", "WANDB_WATCH", "WANDB_DISABLED"})
      env.unset(v);
    env.set("WANDB_DIR", tmp.path().string());
  }
  void online() { env.set("WANDB_API_KEY", kKey).set("WANDB_BASE_URL", server.url()); }
  testing::ScopedEnv env;
  testing::TempDir tmp;
  MockWandbServer server{basic_authorization("api", kKey)};
};

// A short run driven by hand: logs like the Trainer's, an evaluation, saves, the final metrics.
struct DrivenRun {
  testing::FakeRun run;
  std::shared_ptr<TrackerCallback> callback;
  std::vector<Json> rows;  // what W&B's history must hold, keys rewritten, in order

  explicit DrivenRun(const fs::path& output_dir) {
    run.args.output_dir = output_dir.string();
    run.args.run_name = "wandb-run";
    run.args.tracker_flush_timeout = 30;
    run.ctx.model_description = R"({"architecture": "Mlp", "num_parameters": 1234})";
    callback = make_wandb_callback();
  }
  void begin() { callback->on_train_begin(run.args, run.state, run.control, run.ctx); }
  void steps(int64_t from, int64_t to, double scale = 1.0) {
    for (int64_t s = from; s <= to; ++s) {
      run.log(*callback, s,
              Json{{"loss", scale / static_cast<double>(s)}, {"learning_rate", 1e-3}, {"epoch", s / 10.0}});
      rows.push_back(Json{{"train/loss", scale / static_cast<double>(s)},
                          {"train/learning_rate", 1e-3},
                          {"train/epoch", s / 10.0},
                          {"train/global_step", s}});
      if (s % 5 == 0) {
        run.log(*callback, s, Json{{"eval_loss", 0.5}, {"eval_note", "text"}, {"epoch", s / 10.0}});
        rows.push_back(
            Json{{"eval/loss", 0.5}, {"eval/note", "text"}, {"train/epoch", s / 10.0}, {"train/global_step", s}});
        run.state.global_step = s;
        callback->on_save(run.args, run.state, run.control, run.ctx);
      }
    }
  }
  void final_metrics(int64_t step) {
    run.log(*callback, step,
            Json{{"train_runtime", 1.5}, {"train_loss", 0.25}, {"total_flos", 1e9}, {"epoch", step / 10.0}});
    rows.push_back(Json{{"train/epoch", step / 10.0}, {"train/global_step", step}});
  }
  void end() { callback->on_train_end(run.args, run.state, run.control, run.ctx); }
};

// The rows without W&B's own keys.
std::vector<Json> user_rows(const Json& history) {
  std::vector<Json> out;
  for (Json row : history) {
    for (const char* k : {"_step", "_runtime", "_timestamp"}) row.erase(k);
    out.push_back(row);
  }
  return out;
}

TEST_F(WandbTest, SettingsNameTheVariableThatIsWrong) {
  env.set("WANDB_MODE", "sometimes");
  try {
    WandbSettings::from_environment();
    FAIL() << "no error";
  } catch (const ArgumentError& e) {
    EXPECT_NE(std::string(e.what()).find("WANDB_MODE: 'sometimes' is not a mode; valid: online, offline"),
              std::string::npos);
  }
  env.set("WANDB_MODE", "offline").set("WANDB_RUN_ID", "a/b");
  EXPECT_THROW(WandbSettings::from_environment(), ArgumentError);
  env.unset("WANDB_RUN_ID").set("WANDB_RESUME", "perhaps");
  EXPECT_THROW(WandbSettings::from_environment(), ArgumentError);
  env.unset("WANDB_RESUME").set("WANDB_BASE_URL", "ftp://host");
  EXPECT_THROW(WandbSettings::from_environment(), ArgumentError);
  env.unset("WANDB_BASE_URL").set("WANDB_LOG_MODEL", "TRUE");
  EXPECT_EQ(WandbSettings::from_environment().log_model, WandbLogModel::end);  // legacy truthy: end
  env.unset("WANDB_MODE");
  EXPECT_EQ(WandbSettings::from_environment().mode, WandbMode::offline);  // no key: offline
  env.set("WANDB_API_KEY", kKey).set("WANDB_TAGS", " a, b ,,c");
  const WandbSettings s = WandbSettings::from_environment();
  EXPECT_EQ(s.mode, WandbMode::online);
  EXPECT_EQ(s.tags, (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(s.project, "huggingface");
  env.set("WANDB_DISABLED", "true");
  EXPECT_THROW(make_wandb_callback(), ArgumentError);
  EXPECT_FALSE(wandb_in_all());
}

TEST_F(WandbTest, OfflineRunHasEverythingWandbSyncNeeds) {
  env.set("WANDB_MODE", "offline").set("WANDB_API_KEY", kKey).set("WANDB_TAGS", "cpp,mlp").set("WANDB_RUN_GROUP", "g1");
  {
    DrivenRun r(tmp.path() / "out");
    r.begin();
    r.steps(1, 10);
    r.final_metrics(10);
    r.end();
  }
  std::vector<fs::path> runs;
  for (const auto& e : fs::directory_iterator(tmp.path() / "wandb"))
    if (e.is_directory() && !e.is_symlink()) runs.push_back(e.path());
  ASSERT_EQ(runs.size(), 1u);
  const std::string folder = runs[0].filename().string();
  std::smatch m;
  ASSERT_TRUE(std::regex_match(folder, m, std::regex(R"(offline-run-\d{8}_\d{6}-([a-z0-9]{8}))"))) << folder;
  const fs::path log = runs[0] / ("run-" + m[1].str() + ".wandb");
  bool clean = false;
  const auto records = decode(read_records(read_file(log), &clean));
  ASSERT_TRUE(clean);
  ASSERT_GE(records.size(), 5u);
  EXPECT_TRUE(records[0].has_header());
  ASSERT_TRUE(records[1].has_run());
  const auto& run = records[1].run();
  EXPECT_EQ(run.run_id(), m[1].str());
  EXPECT_EQ(run.project(), "huggingface");
  EXPECT_EQ(run.display_name(), "wandb-run");
  EXPECT_EQ(run.run_group(), "g1");
  ASSERT_EQ(run.tags_size(), 2);
  std::map<std::string, std::string> config;
  for (const auto& item : run.config().update()) config[item.key()] = item.value_json();
  EXPECT_EQ(config.at("model/num_parameters"), "1234");
  EXPECT_EQ(config.at("architecture"), "\"Mlp\"");
  EXPECT_EQ(config.at("run_name"), "\"wandb-run\"");
  std::vector<Json> history;
  Json summary = Json::object();
  int exits = 0;
  bool after_exit = false;
  for (const auto& record : records) {
    EXPECT_NE(record.record_type_case(), wandb_internal::Record::RECORD_TYPE_NOT_SET);
    if (record.has_history()) {
      EXPECT_FALSE(after_exit);
      Json row = Json::object();
      for (const auto& item : record.history().item()) row[item.key()] = parse_json(item.value_json());
      EXPECT_EQ(row["_step"], static_cast<int64_t>(history.size()));
      EXPECT_EQ(record.history().step().num(), static_cast<int64_t>(history.size()));
      history.push_back(row);
    }
    if (record.has_summary())
      for (const auto& item : record.summary().update()) summary[item.key()] = parse_json(item.value_json());
    if (record.has_exit()) {
      ++exits;
      after_exit = true;
      EXPECT_EQ(record.exit().exit_code(), 0);
    }
  }
  EXPECT_EQ(exits, 1);
  DrivenRun expected(tmp.path() / "unused");
  expected.steps(1, 10);
  expected.final_metrics(10);
  EXPECT_EQ(user_rows(history), expected.rows);
  EXPECT_EQ(summary["train_runtime"], 1.5);
  EXPECT_EQ(summary["train/loss"], 0.1);
  EXPECT_EQ(parse_json(read_file(runs[0] / "files" / "wandb-summary.json")), summary);
  EXPECT_NE(read_file(runs[0] / "files" / "config.yaml").find("model/num_parameters:\n  value: 1234"),
            std::string::npos);
  EXPECT_TRUE(fs::exists(runs[0] / "files" / "wandb-metadata.json"));
  // Nothing it wrote holds the API key.
  for (const auto& e : fs::recursive_directory_iterator(tmp.path()))
    if (e.is_regular_file()) EXPECT_EQ(read_file(e.path()).find(kKey), std::string::npos) << e.path();
}

TEST_F(WandbTest, OnlineRunArrivesWholeInRequestsOfTheRightShape) {
  online();
  env.set("WANDB_PROJECT", "fashion").set("WANDB_NOTES", "first").set("WANDB_JOB_TYPE", "train");
  DrivenRun r(tmp.path() / "out");
  {
    r.begin();
    r.steps(1, 10);
    r.final_metrics(10);
    r.end();
    r.callback.reset();  // the run ends with the tracker, as the SDK's at exit
  }
  EXPECT_TRUE(server.violations().empty()) << server.violations().front();
  const auto runs = server.runs();
  ASSERT_EQ(runs.size(), 1u);
  const auto& run = runs[0];
  EXPECT_EQ(run.project, "fashion");
  EXPECT_EQ(run.display_name, "wandb-run");
  EXPECT_EQ(run.notes, "first");
  EXPECT_EQ(run.job_type, "train");
  EXPECT_EQ(run.config.at("model/num_parameters"), Json({{"value", 1234}}));
  EXPECT_TRUE(run.complete);
  EXPECT_EQ(run.exitcode, 0);
  Json history = Json::array();
  for (const auto& [offset, line] : run.history) history.push_back(parse_json(line));
  EXPECT_EQ(user_rows(history), r.rows);
  EXPECT_EQ(run.repeated_lines + run.replaced_lines, 0);
  EXPECT_EQ(run.summary["train_loss"], 0.25);
  EXPECT_EQ(run.summary["_step"], static_cast<int64_t>(r.rows.size() - 1));
}

class WandbFaultTest : public WandbTest, public ::testing::WithParamInterface<testing::FaultCase> {};

TEST_P(WandbFaultTest, EveryRowArrivesOnceAndTrainingNeverWaits) {
  online();
  DrivenRun r(tmp.path() / "out");
  r.begin();
  GetParam().inject(server.http());
  const auto t0 = std::chrono::steady_clock::now();
  r.steps(1, 20);
  const auto spent = std::chrono::steady_clock::now() - t0;
  EXPECT_LT(spent, 500ms) << "the training thread waited on the network";
  r.final_metrics(20);
  r.end();
  r.callback.reset();
  EXPECT_TRUE(server.violations().empty()) << server.violations().front();
  EXPECT_EQ(server.http().faults().lose_answer_next, 0) << "answers left to lose: the fault never fired";
  const auto runs = server.runs();
  ASSERT_EQ(runs.size(), 1u);
  Json history = Json::array();
  for (const auto& [offset, line] : runs[0].history) history.push_back(parse_json(line));
  EXPECT_EQ(user_rows(history), r.rows);
  EXPECT_EQ(runs[0].replaced_lines, 0);
  EXPECT_TRUE(runs[0].complete);
  EXPECT_EQ(runs[0].exitcode, 0);
}

std::vector<testing::FaultCase> wandb_fault_cases() {
  auto cases = testing::standard_fault_cases(700);
  cases.push_back(testing::answers_lost_after_handling());
  return cases;
}

INSTANTIATE_TEST_SUITE_P(Faults, WandbFaultTest, ::testing::ValuesIn(wandb_fault_cases()),
                         testing::fault_case_name<::testing::TestParamInfo<testing::FaultCase>>);

TEST_F(WandbTest, AFailedRunEndsWithANonZeroExitCode) {
  online();
  {
    DrivenRun r(tmp.path() / "out");
    r.begin();
    r.steps(1, 3);
    r.callback->on_exception(r.run.args, r.run.state, r.run.control, r.run.ctx);
  }
  ASSERT_EQ(server.runs().size(), 1u);
  EXPECT_TRUE(server.runs()[0].complete);
  EXPECT_EQ(server.runs()[0].exitcode, 1);
}

TEST_F(WandbTest, ResumeContinuesTheSameRunAndRewritesTheRowsAfterTheCheckpoint) {
  online();
  // logs past its checkpoint at step 5, then dies without ending the run
  const Json checkpoint_state = testing::checkpoint_state_of_killed_run<DrivenRun>(tmp.path() / "out", 5, 8);
  ASSERT_FALSE(checkpoint_state.is_null());
  DrivenRun second(tmp.path() / "out");
  std::dynamic_pointer_cast<StatefulTrackerCallback>(second.callback)->load_state(checkpoint_state);
  second.run.state.global_step = 5;
  second.begin();
  second.steps(6, 10, 2.0);  // the same steps again, other values (a timing, say)
  second.end();
  second.callback.reset();
  const auto runs = server.runs();
  ASSERT_EQ(runs.size(), 1u) << "the resume made a new run";
  Json history = Json::array();
  for (const auto& [offset, line] : runs[0].history) history.push_back(parse_json(line));
  std::vector<Json> expected;
  env.set("WANDB_MODE", "offline");  // the expected rows, from the same calls, not sent
  DrivenRun a(tmp.path() / "x"), b(tmp.path() / "y");
  a.steps(1, 5);
  b.steps(6, 10, 2.0);
  expected = a.rows;
  expected.insert(expected.end(), b.rows.begin(), b.rows.end());
  EXPECT_EQ(user_rows(history), expected);
  EXPECT_GT(runs[0].replaced_lines, 0);  // the rows the first process logged after its checkpoint
}

TEST_F(WandbTest, CheckpointsAreUploadedAsRunFilesWithoutTheApiKey) {
  online();
  env.set("WANDB_LOG_MODEL", "checkpoint");
  const fs::path checkpoint = tmp.path() / "out" / "checkpoint-5";
  fs::create_directories(checkpoint);
  std::ofstream(checkpoint / "model.safetensors") << "weights";
  std::ofstream(checkpoint / "trainer_state.json") << "{}";
  {
    DrivenRun r(tmp.path() / "out");
    r.begin();
    r.steps(1, 5);
    r.run.ctx.checkpoint_dir = checkpoint.string();
    r.callback->on_checkpoint_published(r.run.args, r.run.state, r.run.control, r.run.ctx);
    r.end();
  }
  EXPECT_TRUE(server.violations().empty()) << server.violations().front();
  ASSERT_EQ(server.runs().size(), 1u);
  const auto files = server.runs()[0].files;
  ASSERT_EQ(files.count("checkpoint-5/model.safetensors"), 1u);
  EXPECT_EQ(files.at("checkpoint-5/model.safetensors"), "weights");
  EXPECT_EQ(files.count("checkpoint-5/trainer_state.json"), 1u);
}

// The offline run's Artifact records, and the folder they were written in.
std::vector<wandb_internal::ArtifactRecord> offline_artifacts(const fs::path& wandb_dir, fs::path* run_dir = nullptr) {
  std::vector<wandb_internal::ArtifactRecord> out;
  for (const auto& e : fs::directory_iterator(wandb_dir)) {
    if (!e.is_directory() || e.is_symlink()) continue;
    if (run_dir) *run_dir = e.path();
    for (const auto& f : fs::directory_iterator(e.path()))
      if (f.path().extension() == ".wandb")
        for (const auto& record : decode(read_records(read_file(f.path()))))
          if (record.has_artifact()) out.push_back(record.artifact());
  }
  return out;
}

// What `wandb sync` checks before it uploads an entry: the file at local_path, its size, its MD5.
void expect_manifest_matches_its_files(const wandb_internal::ArtifactRecord& artifact,
                                       const std::map<std::string, std::string>& expected) {
  std::map<std::string, std::string> found;
  std::string digest_input = "wandb-artifact-manifest-v1\n";
  for (const auto& entry : artifact.manifest().contents()) {
    const std::string bytes = read_file(entry.local_path());
    found[entry.path()] = bytes;
    EXPECT_EQ(entry.size(), static_cast<int64_t>(bytes.size())) << entry.path();
    EXPECT_EQ(entry.digest(), base64_encode(md5(bytes))) << entry.path();
    digest_input += entry.path() + ":" + entry.digest() + "\n";
  }
  EXPECT_EQ(found, expected);
  EXPECT_EQ(artifact.digest(), hex_encode(md5(digest_input)));
  EXPECT_EQ(artifact.manifest().version(), 1);
  EXPECT_EQ(artifact.manifest().storage_policy(), "wandb-storage-policy-v1");
  EXPECT_EQ(artifact.type(), "model");
  EXPECT_TRUE(artifact.finalize());
  EXPECT_EQ(artifact.client_id().size(), 128u);
}

// Steps 1..10 with checkpoint-5 and checkpoint-10 published (and rotated away: wandb sync runs later).
void steps_with_checkpoints(DrivenRun& r) {
  for (int step : {5, 10}) {
    r.steps(step - 4, step);
    r.run.publish_checkpoint(
        *r.callback, step, {{"model.safetensors", "weights at " + std::to_string(step)}, {"trainer_state.json", "{}"}});
  }
}

TEST_F(WandbTest, OfflineCheckpointsAreModelArtifactsThatOutliveRotation) {
  env.set("WANDB_MODE", "offline").set("WANDB_LOG_MODEL", "checkpoint");
  testing::CapturedLogs logs;
  {
    DrivenRun r(tmp.path() / "out");
    r.begin();
    steps_with_checkpoints(r);
    r.end();
  }
  EXPECT_FALSE(logs.contains("not as a model artifact"));  // only said online
  auto artifacts = offline_artifacts(tmp.path() / "wandb");
  ASSERT_EQ(artifacts.size(), 3u);
  const auto base = artifacts[0];  // the original's first: the model's description, alias base_model
  EXPECT_EQ(std::vector<std::string>(base.aliases().begin(), base.aliases().end()),
            (std::vector<std::string>{"latest", "base_model"}));
  expect_manifest_matches_its_files(
      base, {{"model_architecture.txt", std::string(R"({"architecture": "Mlp", "num_parameters": 1234})") + "\n"}});
  EXPECT_EQ(parse_json(base.metadata()).at("initial_model"), true);
  EXPECT_EQ(parse_json(base.metadata()).at("model_config").at("architecture"), "Mlp");
  artifacts.erase(artifacts.begin());
  for (size_t i = 0; i < 2; ++i) {
    const auto& a = artifacts[i];
    const int step = i == 0 ? 5 : 10;
    EXPECT_EQ(a.name(), "model-wandb-run");
    expect_manifest_matches_its_files(
        a, {{"model.safetensors", "weights at " + std::to_string(step)}, {"trainer_state.json", "{}"}});
    const std::vector<std::string> aliases(a.aliases().begin(), a.aliases().end());
    EXPECT_EQ(aliases, (std::vector<std::string>{"latest", i == 0 ? "epoch_0.5" : "epoch_1.0",
                                                 "checkpoint_global_step_" + std::to_string(step)}));
    const Json metadata = parse_json(a.metadata());
    EXPECT_EQ(metadata.at("model/num_parameters"), 1234);
    EXPECT_EQ(metadata.at("train/global_step"), step);
    EXPECT_FALSE(metadata.contains("eval/note"));  // numbers only
  }
  EXPECT_EQ(artifacts[0].sequence_client_id(), artifacts[1].sequence_client_id());  // versions of one artifact
  EXPECT_NE(artifacts[0].client_id(), artifacts[1].client_id());
}

TEST_F(WandbTest, OfflineEndLogsTheLastCheckpointAsTheFinalModel) {
  env.set("WANDB_MODE", "offline").set("WANDB_LOG_MODEL", "end");
  {
    DrivenRun r(tmp.path() / "out");
    r.begin();
    steps_with_checkpoints(r);
    r.final_metrics(10);
    r.end();
  }
  const auto all = offline_artifacts(tmp.path() / "wandb");
  ASSERT_EQ(all.size(), 2u);  // base_model, then final_model
  const std::vector<wandb_internal::ArtifactRecord> artifacts(all.begin() + 1, all.end());
  expect_manifest_matches_its_files(artifacts[0],
                                    {{"model.safetensors", "weights at 10"}, {"trainer_state.json", "{}"}});
  EXPECT_EQ(std::vector<std::string>(artifacts[0].aliases().begin(), artifacts[0].aliases().end()),
            (std::vector<std::string>{"latest", "final_model"}));
  const Json metadata = parse_json(artifacts[0].metadata());
  EXPECT_EQ(metadata.at("final_model"), true);
  EXPECT_EQ(metadata.at("train_runtime"), 1.5);
}

TEST_F(WandbTest, WithTheBestModelLoadedAtTheEndTheFinalModelIsTheBestCheckpoint) {
  env.set("WANDB_MODE", "offline").set("WANDB_LOG_MODEL", "end");
  {
    DrivenRun r(tmp.path() / "out");
    r.run.args.load_best_model_at_end = true;
    r.begin();
    steps_with_checkpoints(r);                                  // both rotated away ...
    const fs::path best = tmp.path() / "out" / "checkpoint-5";  // ... but the best one is kept on disk
    fs::create_directories(best);
    std::ofstream(best / "model.safetensors") << "best weights";
    r.run.state.best_model_checkpoint = best.string();
    r.run.state.best_metric = 0.25;
    r.run.state.total_flos = 1e9;
    r.end();
  }
  const auto artifacts = offline_artifacts(tmp.path() / "wandb");
  ASSERT_EQ(artifacts.size(), 2u);
  expect_manifest_matches_its_files(artifacts[1], {{"model.safetensors", "best weights"}});
  const Json metadata = parse_json(artifacts[1].metadata());
  EXPECT_EQ(metadata.at("eval/loss"), 0.25);
  EXPECT_EQ(metadata.at("train/total_floss"), 1e9);
  EXPECT_EQ(metadata.at("final_model"), true);
}

TEST_F(WandbTest, OnlineSaysAtSetUpThatCheckpointsAreRunFiles) {
  online();
  env.set("WANDB_LOG_MODEL", "checkpoint");
  testing::CapturedLogs logs;
  DrivenRun r(tmp.path() / "out");
  r.begin();
  EXPECT_TRUE(logs.contains("not as a model artifact"));
  EXPECT_TRUE(logs.contains("WANDB_MODE=offline"));
  r.end();
}

TEST_F(WandbTest, BadCredentialsKeepEverythingForTrainerSync) {
  env.set("WANDB_API_KEY", "wrong-key").set("WANDB_BASE_URL", server.url());
  testing::CapturedLogs logs;
  {
    DrivenRun r(tmp.path() / "out");
    r.begin();
    r.steps(1, 5);
    r.end();
  }
  EXPECT_TRUE(server.runs().empty());
  EXPECT_TRUE(logs.contains("HTTP 401"));
  EXPECT_TRUE(logs.contains("trainer sync"));
  EXPECT_FALSE(logs.contains("wrong-key"));
  env.set("WANDB_API_KEY", kKey);
  auto sender = sender_for_journal(tmp.path() / "out" / "tracking" / "wandb", (tmp.path() / "out").string());
  const SenderReport report = sender->finish(10s);
  EXPECT_EQ(report.unsent, 0);
  ASSERT_EQ(server.runs().size(), 1u);
  EXPECT_EQ(server.runs()[0].history.size(), 6u);  // five steps and one evaluation
  EXPECT_TRUE(server.runs()[0].complete);
}

TEST_F(WandbTest, AnOfflineRunIsSentLaterByTrainerSync) {
  env.set("WANDB_MODE", "offline");
  {
    DrivenRun r(tmp.path() / "out");
    r.begin();
    r.steps(1, 10);
    r.end();
  }
  EXPECT_TRUE(server.runs().empty());
  online();
  auto sender = sender_for_journal(tmp.path() / "out" / "tracking" / "wandb", (tmp.path() / "out").string());
  EXPECT_EQ(sender->finish(10s).unsent, 0);
  EXPECT_TRUE(server.violations().empty()) << server.violations().front();
  ASSERT_EQ(server.runs().size(), 1u);
  EXPECT_EQ(server.runs()[0].history.size(), 12u);
  EXPECT_EQ(server.runs()[0].exitcode, 0);
}

}  // namespace
}  // namespace trainer
