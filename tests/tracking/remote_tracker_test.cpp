// RemoteTracker: what a checkpoint records of a tracker is already in its journal on disk.
#include "trainer/tracking/remote_tracker.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "test_support.h"
#include "trainer/core/training_arguments.h"
#include "trainer/tracking/record_journal.h"

namespace trainer {
namespace {

using namespace std::chrono_literals;

// An endpoint whose first send waits until the test opens the gate: the sender thread is busy with
// the network while the training thread goes on submitting.
class GatedEndpoint : public RemoteEndpoint {
 public:
  struct Gate {
    std::mutex mutex;
    std::condition_variable changed;
    bool sending = false, open = false;
  };
  explicit GatedEndpoint(std::shared_ptr<Gate> gate) : gate_(std::move(gate)) {}
  Delivery send(const std::vector<TrackingRecord>& pending) override {
    std::unique_lock<std::mutex> lock(gate_->mutex);
    gate_->sending = true;
    gate_->changed.notify_all();
    gate_->changed.wait(lock, [&] { return gate_->open || aborted_; });
    if (aborted_) return {Delivery::Kind::retry, 1, "aborted", std::nullopt};
    return Delivery::delivered(pending.size());
  }
  Json run() const override { return Json{{"run_id", "r-1"}}; }
  void restore_run(const Json&) override {}
  void set_aborted(bool aborted) override {
    std::lock_guard<std::mutex> lock(gate_->mutex);
    aborted_ = aborted;
    gate_->changed.notify_all();
  }

 private:
  std::shared_ptr<Gate> gate_;
  bool aborted_ = false;
};

class GatedTracker : public RemoteTracker {
 public:
  GatedTracker(const TrainingArguments& args, std::shared_ptr<GatedEndpoint::Gate> gate)
      : RemoteTracker("gated", "Gated", args), gate_(std::move(gate)) {}
  void start_run(const RunStart& run) override {
    auto gate = gate_;
    open_journal(run, Json::object(), [gate] { return std::make_unique<GatedEndpoint>(gate); });
  }
  void log_metrics(const Json& values, int64_t step) override {
    submit("metrics", Json{{"step", step}, {"metrics", values}});
  }
  void finish(RunStatus) override { finish_sending("run r-1"); }

 private:
  std::shared_ptr<GatedEndpoint::Gate> gate_;
};

TEST(RemoteTracker, TheStateACheckpointSavesCountsOnlyRecordsAlreadyInTheJournal) {
  testing::TempDir dir;
  TrainingArguments args;
  args.output_dir = dir.path().string();
  auto gate = std::make_shared<GatedEndpoint::Gate>();
  GatedTracker tracker(args, gate);
  RunStart run;
  run.output_dir = args.output_dir;
  tracker.start_run(run);
  tracker.log_metrics(Json{{"loss", 1.0}}, 1);
  {
    std::unique_lock<std::mutex> lock(gate->mutex);
    ASSERT_TRUE(gate->changed.wait_for(lock, 10s, [&] { return gate->sending; }));
  }
  for (int64_t step = 2; step <= 5; ++step) tracker.log_metrics(Json{{"loss", 1.0 / static_cast<double>(step)}}, step);
  const auto journal = tracker.directory() / "journal.jsonl";
  // The sender thread is in the network: what came after waits in memory, which a killed process loses.
  ASSERT_EQ(RecordJournal::summarize(journal).last_seq, 1);
  tracker.saved_state();  // what the Trainer takes into checkpoint-N/trainer_state.json
  EXPECT_EQ(RecordJournal::summarize(journal).last_seq, 5);
  {
    std::lock_guard<std::mutex> lock(gate->mutex);
    gate->open = true;
  }
  gate->changed.notify_all();
  tracker.finish(RunStatus::finished);
  EXPECT_EQ(RecordJournal::summarize(journal).acked, 5);
}

}  // namespace
}  // namespace trainer
