#include "trainer/callbacks/progress_bar.h"
#include "trainer/callbacks/progress_callback.h"
#include "trainer/core/data_loader.h"
#include "trainer/core/trainer_control.h"
#include "trainer/core/trainer_state.h"
#include "trainer/core/training_arguments.h"

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

TEST(ProgressBar, AFileGetsTheFinalLineOnce) {
  std::FILE* out = std::tmpfile();
  {
    ProgressBar bar("train", 50, out, /*interactive=*/false, /*min_interval_s=*/0);
    for (int i = 0; i < 50; ++i) bar.update();
  }
  const auto text = contents(out);
  EXPECT_EQ(count(text, "50/50"), 1) << text;
  std::fclose(out);
}

TEST(ProgressBar, FitsTheTerminalWidthAndFollowsItsChanges) {
  ProgressBar bar("train", 1000, nullptr, /*interactive=*/true);
  bar.update(450);
  const auto display = [](const std::string& s) {
    int n = 0;
    for (unsigned char c : s) n += (c & 0xC0) != 0x80;
    return n;
  };
  const std::string wide = bar.render(true, 120), narrow = bar.render(true, 49), tiny = bar.render(true, 20);
  EXPECT_NE(wide.find("|█████████"), std::string::npos) << wide;
  EXPECT_LE(display(narrow), 49) << narrow;
  EXPECT_NE(narrow.find("450/1000"), std::string::npos) << narrow;  // the bar shrinks before the numbers go
  EXPECT_EQ(display(tiny), 20) << tiny;
  EXPECT_EQ(tiny.find('|'), std::string::npos) << "no room for a bar: " << tiny;
  // Interactive output follows the width it is given (the terminal's, read at every redraw).
  std::FILE* out = std::tmpfile();
  {
    ProgressBar live("train", 10, out, /*interactive=*/true);
    live.set_columns(30);
    live.update(5);
    live.close();
  }
  const auto text = contents(out);
  const auto last = text.substr(text.rfind("\033[K") + 3);
  EXPECT_LE(display(last.substr(0, last.find('\n'))), 29) << text;
  std::fclose(out);
}

TEST(ProgressBar, ItemsDoneBeforeItStartedAreNotARate) {
  ProgressBar bar("eval", 1, nullptr, /*interactive=*/false, 30, true, /*initial=*/1);
  const auto line = bar.render(false);
  EXPECT_NE(line.find("1/1"), std::string::npos) << line;
  EXPECT_NE(line.find("?it/s"), std::string::npos) << line;
}

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
  EXPECT_EQ(count(text, "train: 100%"), 1) << text;
  std::fclose(out);
}

TEST(ProgressCallback, AFinalEvaluationPrintsItsLineOnce) {
  std::FILE* out = std::tmpfile();
  ProgressCallback cb(100, out, /*interactive=*/0, /*min_interval_s=*/0);
  TrainingArguments args;
  TrainerState state;
  TrainerControl control;
  FakeLoader loader;
  CallbackContext ctx;
  ctx.eval_dataloader = &loader;
  for (int i = 0; i < 4; ++i) cb.on_prediction_step(args, state, control, ctx);
  cb.on_evaluate(args, state, control, ctx);
  const auto text = contents(out);
  EXPECT_EQ(count(text, "eval: 100%"), 1) << text;
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
