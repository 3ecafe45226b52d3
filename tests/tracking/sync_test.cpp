// `trainer sync` as library code: finding a run's journals, continuing each exactly once, and
// replaying a finished run's log_history to callbacks.
#include "trainer/tracking/sync.h"

#include <gtest/gtest.h>

#include <fstream>

#include "scripted_endpoint.h"
#include "test_support.h"
#include "trainer/core/callback.h"
#include "trainer/core/trainer_control.h"
#include "trainer/core/trainer_state.h"
#include "trainer/core/training_arguments.h"
#include "trainer/tracking/record_journal.h"
#include "trainer/tracking/record_sender.h"

namespace trainer {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;
using testing::fast_options;
using testing::ScriptedEndpoint;

// A journal folder with `records` records that a server that is down never took.
void leave_unsent(const fs::path& dir, int records) {
  auto down = std::make_unique<ScriptedEndpoint>();
  down->answer = [](const std::vector<TrackingRecord>& p) {
    return Delivery{Delivery::Kind::retry, p.size(), "down", std::nullopt};
  };
  RecordSender sender("fake", dir, std::move(down), fast_options());
  for (int i = 0; i < records; ++i) sender.submit("metrics", Json{{"i", i}});
  EXPECT_EQ(sender.finish(0ms).unsent, records);
  std::ofstream(dir / "tracker.json") << R"({"tracker": "fake"})"
                                      << "\n";
}

TEST(JournalFolders, FindsARunsJournalsAFolderOfThemOrOne) {
  testing::TempDir tmp;
  EXPECT_TRUE(journal_folders(tmp.path()).empty());
  leave_unsent(tmp.path() / "run" / "tracking" / "b", 1);
  leave_unsent(tmp.path() / "run" / "tracking" / "a", 1);
  EXPECT_EQ(journal_folders(tmp.path() / "run"),
            (std::vector<fs::path>{tmp.path() / "run" / "tracking" / "a", tmp.path() / "run" / "tracking" / "b"}));
  EXPECT_EQ(journal_folders(tmp.path() / "run" / "tracking"),
            (std::vector<fs::path>{tmp.path() / "run" / "tracking" / "a", tmp.path() / "run" / "tracking" / "b"}));
  EXPECT_EQ(journal_folders(tmp.path() / "run" / "tracking" / "a"),
            std::vector<fs::path>{tmp.path() / "run" / "tracking" / "a"});
  fs::remove(tmp.path() / "run" / "tracking" / "a" / "tracker.json");  // a journal without its tracker is not one
  EXPECT_EQ(journal_folders(tmp.path() / "run"), std::vector<fs::path>{tmp.path() / "run" / "tracking" / "b"});
}

TEST(SyncJournals, SendsWhatWasLeftExactlyOnceThenNothing) {
  testing::TempDir tmp;
  const fs::path journal = tmp.path() / "tracking" / "fake";
  leave_unsent(journal, 7);
  std::vector<int64_t> delivered;
  std::vector<std::string> output_dirs;
  auto sender_for = [&](const fs::path& dir, const std::string& output_dir) {
    output_dirs.push_back(output_dir);
    auto up = std::make_unique<ScriptedEndpoint>();
    up->answer = [&](const std::vector<TrackingRecord>& p) {
      for (const auto& r : p) delivered.push_back(r.seq);
      return Delivery::delivered(p.size());
    };
    return std::make_unique<RecordSender>("fake", dir, std::move(up), fast_options());
  };
  std::vector<fs::path> reported;
  const auto first =
      sync_journals(tmp.path(), 5s, sender_for, [&](const JournalSync& s) { reported.push_back(s.dir); });
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(first[0].pending, 7);
  EXPECT_EQ(first[0].sent, 7);
  EXPECT_EQ(first[0].unsent, 0);
  EXPECT_EQ(delivered, (std::vector<int64_t>{1, 2, 3, 4, 5, 6, 7}));
  EXPECT_EQ(reported, std::vector<fs::path>{journal});
  EXPECT_EQ(output_dirs, std::vector<std::string>{tmp.path().string()});
  EXPECT_EQ(RecordJournal::summarize(journal / "journal.jsonl").unacked(), 0);

  const auto second = sync_journals(tmp.path(), 5s, sender_for);
  ASSERT_EQ(second.size(), 1u);
  EXPECT_EQ(second[0].pending, 0);
  EXPECT_EQ(delivered.size(), 7u);  // no sender was even made
  EXPECT_EQ(output_dirs.size(), 1u);
}

TEST(SyncJournals, KeepsWhatAServerThatIsStillDownDidNotTake) {
  testing::TempDir tmp;
  leave_unsent(tmp.path() / "tracking" / "fake", 3);
  auto still_down = [&](const fs::path& dir, const std::string&) {
    auto down = std::make_unique<ScriptedEndpoint>();
    down->answer = [](const std::vector<TrackingRecord>& p) {
      return Delivery{Delivery::Kind::retry, p.size(), "down", std::nullopt};
    };
    return std::make_unique<RecordSender>("fake", dir, std::move(down), fast_options());
  };
  const auto r = sync_journals(tmp.path(), 50ms, still_down);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].unsent, 3);
  EXPECT_EQ(r[0].sent, 0);
  EXPECT_EQ(RecordJournal::summarize(tmp.path() / "tracking" / "fake" / "journal.jsonl").unacked(), 3);
}

TEST(SyncJournals, RefusesWhatIsNotADirectory) {
  testing::TempDir tmp;
  EXPECT_THROW(sync_journals(tmp.path() / "missing", 1s, nullptr), std::runtime_error);
}

// Records the events a replay fires.
class EventRecorder : public TrainerCallback {
 public:
  std::vector<std::string> events;
  void on_train_begin(const Args&, TrainerState&, TrainerControl&, CallbackContext&) override {
    events.push_back("begin");
  }
  void on_log(const Args&, TrainerState& state, TrainerControl&, CallbackContext& ctx) override {
    events.push_back("log " + std::to_string(state.global_step) + " " + ctx.logs->dump());
  }
  void on_train_end(const Args&, TrainerState&, TrainerControl&, CallbackContext& ctx) override {
    events.push_back(ctx.logs ? "end with logs" : "end");
  }
};

TEST(ReplayLogHistory, FiresEachEntryAtItsStepWithoutTheStepKey) {
  auto recorder = std::make_shared<EventRecorder>();
  const Json history =
      Json::parse(R"([{"loss": 1.5, "step": 5}, {"eval_loss": 1.25, "step": 10}, {"train_runtime": 2.0, "step": 10}])");
  TrainingArguments args;
  EXPECT_EQ(replay_log_history(history, args, {recorder}), 3u);
  EXPECT_EQ(recorder->events, (std::vector<std::string>{"begin", "log 5 {\"loss\":1.5}", "log 10 {\"eval_loss\":1.25}",
                                                        "log 10 {\"train_runtime\":2.0}", "end"}));
}

}  // namespace
}  // namespace trainer
