// FlyteCallback with local destinations: the sync's order (files, pointer, the previous one
// removed), a destination that fails and comes back, restoring both layouts, the deck's table.
// S3 destinations end to end: tests/cli/flyte_test.sh.
#include "trainer/integrations/flyte/flyte_callback.h"

#include <gtest/gtest.h>

#include <fstream>

#include "fake_run.h"
#include "integrations/flyte/blob_store.h"
#include "test_support.h"
#include "trainer/core/argument_spec.h"
#include "trainer/core/training_arguments.h"
#include "trainer/tracking/remote_tracker.h"

namespace trainer {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

void write_checkpoint(const fs::path& dir, int step) {
  fs::create_directories(dir / "sub");
  std::ofstream(dir / "model.safetensors") << "weights " << step;
  std::ofstream(dir / "sub" / "extra.txt") << "extra";
  std::ofstream(dir / "trainer_state.json") << "{\"global_step\": " << step << "}";
}

struct DrivenRun {
  testing::FakeRun run;
  std::shared_ptr<FlyteCallback> callback = std::make_shared<FlyteCallback>();
  DrivenRun(const fs::path& out, const fs::path& dest, double flush_timeout = 10) {
    run.args.output_dir = out.string();
    run.args.flyte_checkpoint_path = dest.string();
    run.args.tracker_flush_timeout = flush_timeout;
    callback->on_init_end(run.args, run.state, run.control, run.ctx);
    callback->on_train_begin(run.args, run.state, run.control, run.ctx);
  }
  void checkpoint(int step) {
    run.log(*callback, step, Json{{"loss", 1.0 / step}, {"note", "<b>"}});
    run.state.log_history.push_back(Json{{"loss", 1.0 / step}, {"note", "<b>"}, {"step", step}});
    callback->on_save(run.args, run.state, run.control, run.ctx);
    run.publish_checkpoint(*callback, step,
                           {{"model.safetensors", "weights " + std::to_string(step)},
                            {"sub/extra.txt", "extra"},
                            {"trainer_state.json", "{\"global_step\": " + std::to_string(step) + "}"}});
  }
  void end() { callback->on_train_end(run.args, run.state, run.control, run.ctx); }
};

TEST(Flyte, TheDestinationHoldsTheNewestWholeCheckpoint) {
  testing::TempDir tmp;
  DrivenRun r(tmp.path() / "out", tmp.path() / "dest");
  r.checkpoint(10);
  r.checkpoint(20);
  r.end();
  EXPECT_EQ(testing::read_file(tmp.path() / "dest" / "latest_checkpoint"), "checkpoint-20");
  EXPECT_EQ(testing::read_file(tmp.path() / "dest" / "checkpoint-20" / "model.safetensors"), "weights 20");
  EXPECT_EQ(testing::read_file(tmp.path() / "dest" / "checkpoint-20" / "sub" / "extra.txt"), "extra");
  EXPECT_FALSE(fs::exists(tmp.path() / "dest" / "checkpoint-10"));
  EXPECT_TRUE(fs::exists(tmp.path() / "out" / "deck.html"));
}

TEST(Flyte, ADestinationThatFailsKeepsEverythingForTrainerSync) {
  testing::TempDir tmp;
  std::ofstream(tmp.path() / "dest") << "a file where the folder should be";
  {
    DrivenRun r(tmp.path() / "out", tmp.path() / "dest", 0.5);
    r.checkpoint(10);
    r.end();
  }
  fs::remove(tmp.path() / "dest");  // the mount comes back
  auto sender = flyte_sender_for_journal(tmp.path() / "out" / "tracking" / "flyte", (tmp.path() / "out").string());
  EXPECT_EQ(sender->finish(10s).unsent, 0);
  EXPECT_EQ(testing::read_file(tmp.path() / "dest" / "latest_checkpoint"), "checkpoint-10");
  EXPECT_EQ(testing::read_file(tmp.path() / "dest" / "checkpoint-10" / "model.safetensors"), "weights 10");
}

TEST(Flyte, RestoresTheSyncedLayoutAndTheOriginals) {
  testing::TempDir tmp;
  TrainingArguments args;
  args.output_dir = (tmp.path() / "retry").string();
  args.flyte_prev_checkpoint = "{{.prevCheckpointPrefix}}";
  EXPECT_FALSE(flyte_restore_checkpoint(args));  // unrendered: none
  args.flyte_prev_checkpoint = (tmp.path() / "empty").string();
  EXPECT_FALSE(flyte_restore_checkpoint(args));  // a first attempt: nothing there
  write_checkpoint(tmp.path() / "synced" / "checkpoint-30", 30);
  std::ofstream(tmp.path() / "synced" / "latest_checkpoint") << "checkpoint-30";
  args.flyte_prev_checkpoint = (tmp.path() / "synced").string() + "/";
  const auto restored = flyte_restore_checkpoint(args);
  ASSERT_TRUE(restored);
  EXPECT_EQ(*restored, tmp.path() / "retry" / "checkpoint-30");
  EXPECT_EQ(testing::read_file(*restored / "sub" / "extra.txt"), "extra");
  write_checkpoint(tmp.path() / "python", 40);  // the original's layout: the files at the prefix
  args.flyte_prev_checkpoint = (tmp.path() / "python").string();
  EXPECT_EQ(flyte_restore_checkpoint(args), tmp.path() / "retry" / "checkpoint-40");
  fs::create_directories(tmp.path() / "junk");
  std::ofstream(tmp.path() / "junk" / "x") << "x";
  args.flyte_prev_checkpoint = (tmp.path() / "junk").string();
  EXPECT_THROW(flyte_restore_checkpoint(args), ArgumentError);
}

TEST(Flyte, TheDeckIsATableOfEveryRow) {
  const Json history =
      Json::array({Json{{"loss", 0.5}, {"step", 1}}, Json{{"eval_loss", 0.25}, {"note", "<b>"}, {"step", 1}}});
  const std::string html = flyte_log_history_deck(history);
  EXPECT_NE(html.find("<h2>Log History</h2>"), std::string::npos);
  EXPECT_NE(html.find("<th></th><th>loss</th><th>step</th><th>eval_loss</th><th>note</th>"), std::string::npos);
  EXPECT_NE(html.find("<tr><th>0</th><td>0.5</td><td>1</td><td>NaN</td><td>NaN</td></tr>"), std::string::npos);
  EXPECT_NE(html.find("<td>&lt;b&gt;</td>"), std::string::npos);
}

TEST(Flyte, LocationsFromTemplateVariables) {
  EXPECT_FALSE(flyte_location(""));
  EXPECT_FALSE(flyte_location("{{.checkpointOutputPrefix}}"));
  EXPECT_EQ(flyte_location("s3://b/p/"), "s3://b/p");
  EXPECT_EQ(flyte_location(" /mnt/ckpt "), "/mnt/ckpt");
}

}  // namespace
}  // namespace trainer
