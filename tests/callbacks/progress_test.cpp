#include "trainer/callbacks/progress_callback.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

namespace trainer {
namespace {

std::string contents(std::FILE* f) {
  std::fflush(f);
  std::rewind(f);
  std::string out;
  char buf[512];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
  return out;
}

int count(const std::string& s, const std::string& needle) {
  int n = 0;
  for (size_t pos = s.find(needle); pos != std::string::npos; pos = s.find(needle, pos + 1)) ++n;
  return n;
}

TEST(ProgressBar, RendersCountRateAndEta) {
  ProgressBar bar("train", 200, nullptr, false);
  bar.update(50);
  const auto line = bar.render(true);
  EXPECT_NE(line.find("train:  25%|█████"), std::string::npos) << line;
  EXPECT_NE(line.find(" 50/200 ["), std::string::npos) << line;
  EXPECT_NE(line.find("it/s]"), std::string::npos) << line;
  EXPECT_EQ(ProgressBar::format_duration(75), "01:15");
  EXPECT_EQ(ProgressBar::format_duration(3725), "1:02:05");
}

TEST(ProgressBar, PlainOutputIsRateLimited) {
  std::FILE* out = std::tmpfile();
  {
    ProgressBar bar("train", 1000, out, /*interactive=*/false, /*min_interval_s=*/3600);
    for (int i = 0; i < 999; ++i) bar.update();
  }
  const auto text = contents(out);
  // Nothing during the run (the interval is an hour), one line at the end; no carriage returns.
  EXPECT_EQ(count(text, "\n"), 1) << text;
  EXPECT_EQ(text.find('\r'), std::string::npos);
  EXPECT_NE(text.find("999/1000"), std::string::npos);
  std::fclose(out);
}

TEST(ProgressBar, InteractiveRedrawsInPlace) {
  std::FILE* out = std::tmpfile();
  {
    ProgressBar bar("train", 3, out, /*interactive=*/true);
    bar.update();
    bar.write("{'loss': 1}");
    bar.update(2);
  }
  const auto text = contents(out);
  EXPECT_NE(text.find('\r'), std::string::npos);
  EXPECT_NE(text.find("{'loss': 1}\n"), std::string::npos);
  EXPECT_NE(text.find("3/3"), std::string::npos);
  std::fclose(out);
}

struct FakeLoader : DataLoader {
  int64_t num_batches() const override { return 4; }
  int64_t num_examples() const override { return 32; }
  int64_t batch_size() const override { return 8; }
};

TEST(ProgressCallback, TrainingAndEvaluationBarsAndLogsAbove) {
  std::FILE* out = std::tmpfile();
  ProgressCallback cb(100, out, /*interactive=*/0, /*min_interval_s=*/0);
  TrainingArguments args;
  TrainerState state;
  state.max_steps = 2;
  TrainerControl control;
  FakeLoader loader;
  CallbackContext ctx;
  ctx.eval_dataloader = &loader;
  cb.on_train_begin(args, state, control, ctx);
  state.global_step = 1;
  cb.on_step_end(args, state, control, ctx);
  Json logs = Json{{"loss", 0.123456}, {"total_flos", 3.0}};
  ctx.logs = &logs;
  cb.on_log(args, state, control, ctx);
  EXPECT_TRUE(logs.contains("total_flos"));  // only the displayed copy drops it
  for (int i = 0; i < 4; ++i) cb.on_prediction_step(args, state, control, ctx);
  cb.on_evaluate(args, state, control, ctx);
  state.global_step = 2;
  cb.on_step_end(args, state, control, ctx);
  cb.on_train_end(args, state, control, ctx);
  const auto text = contents(out);
  EXPECT_NE(text.find("{'loss': 0.1235}"), std::string::npos) << text;
  EXPECT_NE(text.find("eval: 100%"), std::string::npos) << text;
  EXPECT_NE(text.find("2/2"), std::string::npos) << text;
  std::fclose(out);
}

TEST(ProgressCallback, OnlyWorldProcessZeroDraws) {
  std::FILE* out = std::tmpfile();
  ProgressCallback cb(100, out, 0, 0);
  TrainingArguments args;
  TrainerState state;
  state.is_world_process_zero = false;
  state.max_steps = 2;
  TrainerControl control;
  CallbackContext ctx;
  cb.on_train_begin(args, state, control, ctx);
  state.global_step = 2;
  cb.on_step_end(args, state, control, ctx);
  cb.on_train_end(args, state, control, ctx);
  EXPECT_EQ(contents(out), "");
  std::fclose(out);
}

}  // namespace
}  // namespace trainer
