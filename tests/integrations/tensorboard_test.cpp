#include "trainer/integrations/tensorboard/tensorboard_callback.h"

#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "fake_run.h"
#include "integrations/tensorboard/event_file_writer.h"
#include "test_support.h"

#include "trainer/core/trainer_control.h"
#include "trainer/core/trainer_state.h"
#include "trainer/core/training_arguments.h"

namespace trainer {
namespace {

namespace fs = std::filesystem;

std::string unhex(const std::string& hex) {
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) out += static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16));
  return out;
}

std::vector<fs::path> event_files(const fs::path& dir) {
  std::vector<fs::path> out;
  if (!fs::exists(dir)) return out;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().filename().string().find("tfevents") != std::string::npos) out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

// Runs the independent Python reader; fails the test if it rejects the file.
Json read_with_python(const fs::path& file) {
  const std::string script = std::string(TRAINER_SOURCE_DIR) + "/tests/integrations/read_tfevents.py";
  const std::string command = std::string(TRAINER_PYTHON) + " '" + script + "' '" + file.string() + "' 2>&1";
  FILE* pipe = popen(command.c_str(), "r");
  std::string out;
  char buf[4096];
  while (size_t n = fread(buf, 1, sizeof(buf), pipe)) out.append(buf, n);
  const int status = pclose(pipe);
  EXPECT_EQ(status, 0) << out;
  return status == 0 ? parse_json(out) : Json::array();
}

TEST(TfRecord, MaskedCrcMatchesTensorBoardTestVectors) {
  EXPECT_EQ(masked_crc32c(unhex("1a11") + "CRC test, one two"), 0x5794D08Au);
  EXPECT_EQ(masked_crc32c(unhex("1800000000000000")), 0x224B7FA3u);
  EXPECT_EQ(masked_crc32c(unhex("2000000000000000")), 0x50A9ED29u);
  EXPECT_EQ(crc32c("123456789"), 0xE3069283u);  // the standard CRC-32C check value
}

TEST(TfRecord, FrameIsLengthCrcPayloadCrc) {
  const std::string frame = tfrecord_frame("abc");
  ASSERT_EQ(frame.size(), 3u + 16u);
  EXPECT_EQ(frame.substr(0, 8), unhex("0300000000000000"));
  EXPECT_EQ(frame.substr(12, 3), "abc");
}

TEST(EventFileWriter, FileNameFollowsTensorBoardConvention) {
  EXPECT_EQ(event_file_name(1700000000, "host", 42, 0), "events.out.tfevents.1700000000.host.42.0");
  EXPECT_EQ(event_file_name(5, "h", 1, 3, ".v2"), "events.out.tfevents.0000000005.h.1.3.v2");
}

TEST(EventFileWriter, ScalarRecordIsByteIdenticalToTensorBoards) {
  testing::TempDir dir;
  fs::path path;
  {
    EventFileWriter writer(dir.path());
    path = writer.path();
    writer.add_scalar("train/loss", 0.25, 3, 1.5);
    writer.close();
  }
  const std::string bytes = testing::read_file(path);
  // Skip the file_version record: u64 length + 4 + payload + 4.
  uint64_t first = 0;
  for (int i = 7; i >= 0; --i) first = (first << 8) | static_cast<unsigned char>(bytes[i]);
  const std::string second = bytes.substr(16 + first);
  const std::string expected_event = unhex("09000000000000f83f10032a130a110a0a747261696e2f6c6f7373150000803e");
  EXPECT_EQ(second, tfrecord_frame(expected_event));
  EXPECT_EQ(masked_crc32c(expected_event), 0x921B3043u);
}

TEST(EventFileWriter, FilesOfOneProcessAreNumbered) {
  testing::TempDir dir;
  EventFileWriter a(dir.path()), b(dir.path());
  EXPECT_NE(a.path(), b.path());
}

TEST(EventFileWriter, UnwritableDirectoryNamesThePath) {
  testing::TempDir dir;
  std::ofstream(dir / "file") << "x";
  try {
    EventFileWriter w(dir / "file" / "runs");
    FAIL() << "expected an error";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find((dir / "file" / "runs").string()), std::string::npos) << e.what();
  }
}

TEST(TensorBoardCallback, EveryValueAtItsStepReadBackByAnIndependentReader) {
  testing::TempDir dir;
  testing::CapturedLogs warnings;
  testing::FakeRun run;
  run.args.output_dir = dir.path().string();
  run.args.logging_dir = (dir / "tb").string();
  run.ctx.model_description = "MLP(784 -> 10)";
  TensorBoardCallback cb;
  cb.on_train_begin(run.args, run.state, run.control, run.ctx);
  run.log(cb, 10, Json{{"loss", 0.5}, {"grad_norm", 1.25}, {"learning_rate", 5e-05}, {"epoch", 0.5}});
  run.log(cb, 20, Json{{"eval_loss", 0.375}, {"eval_accuracy", 0.875}, {"epoch", 1.0}});
  run.log(cb, 30, Json{{"loss", std::nan("")}, {"flag", true}, {"note", "hello"}, {"shape", Json::array({1, 2})}});
  run.log(cb, 40, Json{{"test_loss", 0.25}, {"train_runtime", 12.5}, {"total_flos", 123456789012LL}});
  cb.on_train_end(run.args, run.state, run.control, run.ctx);

  const auto files = event_files(dir / "tb");
  ASSERT_EQ(files.size(), 1u);
  const Json events = read_with_python(files[0]);
  ASSERT_GE(events.size(), 2u);
  EXPECT_EQ(events[0]["file_version"], "brain.Event:2");

  // (tag, step) -> value for scalars; tag -> (step, text) for text.
  std::map<std::pair<std::string, int64_t>, Json> scalars;
  std::map<std::string, std::pair<int64_t, std::string>> texts;
  for (const auto& e : events)
    for (const auto& v : e["values"]) {
      if (v.contains("simple_value")) scalars[{v["tag"], e["step"].get<int64_t>()}] = v["simple_value"];
      if (v.contains("tensor")) {
        EXPECT_EQ(v["plugin_name"], "text");
        EXPECT_EQ(v["tensor"]["dtype"], 7);
        EXPECT_EQ(v["tensor"]["shape"], Json::array({1}));
        texts[v["tag"]] = {e["step"].get<int64_t>(), v["tensor"]["string_val"][0]};
      }
    }
  auto expect_scalar = [&](const std::string& tag, int64_t step, double value) {
    const std::pair<std::string, int64_t> key{tag, step};
    ASSERT_TRUE(scalars.count(key)) << tag << " at step " << step;
    EXPECT_FLOAT_EQ(scalars[key].get<double>(), static_cast<float>(value)) << tag;
  };
  expect_scalar("train/loss", 10, 0.5);  // the later NaN loss is checked below
  expect_scalar("train/grad_norm", 10, 1.25);
  expect_scalar("train/learning_rate", 10, 5e-05);
  expect_scalar("eval/loss", 20, 0.375);
  expect_scalar("eval/accuracy", 20, 0.875);
  expect_scalar("train/epoch", 10, 0.5);
  expect_scalar("train/epoch", 20, 1.0);
  expect_scalar("train/flag", 30, 1.0);
  expect_scalar("test/loss", 40, 0.25);
  expect_scalar("train/train_runtime", 40, 12.5);
  expect_scalar("train/total_flos", 40, 123456789012.0);  // float32, as TensorBoard stores it

  // NaN is written as NaN (TensorBoard shows it), not dropped.
  const std::pair<std::string, int64_t> nan_key{"train/loss", 30};
  EXPECT_EQ(scalars[nan_key], "nan");
  size_t scalar_count = 0;
  for (const auto& e : events)
    for (const auto& v : e["values"]) scalar_count += v.contains("simple_value");
  EXPECT_EQ(scalar_count, 4u + 3u + 2u + 3u);  // every number logged, once

  EXPECT_EQ(texts["train/note/text_summary"].first, 30);
  EXPECT_EQ(texts["train/note/text_summary"].second, "hello");
  EXPECT_EQ(texts["model_config/text_summary"].second, "MLP(784 -> 10)");
  EXPECT_EQ(texts["args/text_summary"].first, 0);
  const Json args_json = parse_json(texts["args/text_summary"].second);
  EXPECT_EQ(args_json["output_dir"], dir.path().string());

  // A list is neither a number nor text: dropped with one warning naming the key.
  const std::pair<std::string, int64_t> shape_key{"train/shape", 30};
  EXPECT_FALSE(scalars.count(shape_key));
  EXPECT_TRUE(warnings.contains("'shape' is a array")) << (warnings.messages.empty() ? "" : warnings.messages[0]);
}

TEST(TensorBoardCallback, EachValueIsStampedWhenItIsLoggedNotWhenItIsWritten) {
  testing::TempDir dir;
  testing::FakeRun run;
  run.args.output_dir = dir.path().string();
  run.args.logging_dir = (dir / "tb").string();
  TensorBoardCallback cb;
  cb.on_train_begin(run.args, run.state, run.control, run.ctx);
  // Three logs 60 ms apart land in one batch of the writer (it waits up to 200 ms for more).
  for (int step = 1; step <= 3; ++step) {
    run.log(cb, step, Json{{"loss", 1.0 / step}});
    std::this_thread::sleep_for(std::chrono::milliseconds(60));
  }
  cb.on_train_end(run.args, run.state, run.control, run.ctx);
  const Json events = read_with_python(event_files(dir / "tb").at(0));
  std::vector<double> stamps;
  for (const auto& e : events)
    for (const auto& v : e["values"])
      if (v["tag"] == "train/loss") stamps.push_back(e["wall_time"].get<double>());
  ASSERT_EQ(stamps.size(), 3u);
  EXPECT_GT(stamps[1] - stamps[0], 0.04);
  EXPECT_GT(stamps[2] - stamps[1], 0.04);
}

TEST(TensorBoardCallback, EachTrainingRunStartsANewFile) {
  testing::TempDir dir;
  testing::FakeRun run;
  run.args.logging_dir = (dir / "tb").string();
  TensorBoardCallback cb;
  for (int i = 0; i < 2; ++i) {
    cb.on_train_begin(run.args, run.state, run.control, run.ctx);
    run.log(cb, 1, Json{{"loss", 1.0}});
    cb.on_train_end(run.args, run.state, run.control, run.ctx);
  }
  EXPECT_EQ(event_files(dir / "tb").size(), 2u);
}

TEST(TensorBoardCallback, LogDirectoryFromEnvironmentThenArgumentsThenOutputDir) {
  TrainingArguments args;
  args.output_dir = "out";
  unsetenv("TENSORBOARD_LOGGING_DIR");
  EXPECT_EQ(tensorboard_log_dir(args).rfind("out/runs/", 0), 0u) << tensorboard_log_dir(args);
  args.logging_dir = "logs";
  EXPECT_EQ(tensorboard_log_dir(args), "logs");
  setenv("TENSORBOARD_LOGGING_DIR", "~/tb", 1);
  EXPECT_EQ(tensorboard_log_dir(args), std::string(std::getenv("HOME")) + "/tb");
  unsetenv("TENSORBOARD_LOGGING_DIR");
}

TEST(TensorBoardCallback, OnlyWorldProcessZeroWrites) {
  testing::TempDir dir;
  testing::FakeRun run;
  run.args.logging_dir = (dir / "tb").string();
  run.state.is_world_process_zero = false;
  TensorBoardCallback cb;
  cb.on_train_begin(run.args, run.state, run.control, run.ctx);
  run.log(cb, 1, Json{{"loss", 1.0}});
  cb.on_train_end(run.args, run.state, run.control, run.ctx);
  EXPECT_TRUE(event_files(dir / "tb").empty());
}

TEST(TensorBoardCallback, AnUnwritableDirectoryIsReportedOnceAndTrainingGoesOn) {
  testing::TempDir dir;
  std::ofstream(dir / "file") << "x";
  testing::CapturedLogs warnings;
  testing::FakeRun run;
  run.args.logging_dir = (dir / "file" / "tb").string();
  TensorBoardCallback cb;
  EXPECT_NO_THROW(cb.on_train_begin(run.args, run.state, run.control, run.ctx));
  for (int step = 1; step <= 5; ++step) EXPECT_NO_THROW(run.log(cb, step, Json{{"loss", 1.0}}));
  EXPECT_NO_THROW(cb.on_train_end(run.args, run.state, run.control, run.ctx));
  int mentions = 0;
  for (const auto& m : warnings.messages)
    if (m.find("cannot create TensorBoard log directory") != std::string::npos) ++mentions;
  EXPECT_EQ(mentions, 1);
  EXPECT_TRUE(warnings.contains("write(s) failed during this run"));
}

}  // namespace
}  // namespace trainer
