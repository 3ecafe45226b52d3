#pragma once
// A RemoteEndpoint whose answers a test scripts (record_sender.h): it records what it was offered
// and what it took, and can be slow, refuse, or be down.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "trainer/tracking/record_sender.h"

namespace trainer::testing {

// An endpoint whose answers the test scripts; it records what it was offered and what it took.
class ScriptedEndpoint : public RemoteEndpoint {
 public:
  std::function<Delivery(const std::vector<TrackingRecord>&)> answer;  // null: deliver up to max_batch
  size_t max_batch = 100;
  std::chrono::milliseconds delay{0};

  Delivery send(const std::vector<TrackingRecord>& pending) override {
    {
      std::lock_guard<std::mutex> lock(mutex);
      calls.push_back(std::chrono::steady_clock::now());
      largest_offer = std::max(largest_offer, pending.size());
    }
    const auto until = std::chrono::steady_clock::now() + delay;
    while (std::chrono::steady_clock::now() < until) {
      if (aborted) return {Delivery::Kind::retry, 1, "aborted", std::nullopt};
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    Delivery d = answer ? answer(pending) : Delivery::delivered(std::min(pending.size(), max_batch));
    if (d.kind == Delivery::Kind::delivered) {
      std::lock_guard<std::mutex> lock(mutex);
      for (size_t i = 0; i < d.count && i < pending.size(); ++i) delivered.push_back(pending[i].seq);
      if (run_id.is_null()) run_id = Json{{"run_id", "r-1"}};
    }
    return d;
  }
  Json run() const override {
    std::lock_guard<std::mutex> lock(mutex);
    return run_id;
  }
  void restore_run(const Json& run) override { restored = run; }
  void set_aborted(bool a) override { aborted = a; }

  std::vector<int64_t> delivered_seqs() const {
    std::lock_guard<std::mutex> lock(mutex);
    return delivered;
  }

  mutable std::mutex mutex;
  std::vector<std::chrono::steady_clock::time_point> calls;
  std::vector<int64_t> delivered;
  size_t largest_offer = 0;
  Json run_id;
  Json restored;
  std::atomic<bool> aborted{false};
};

// Sender options for tests: short batching delay and backoff, so that retries happen in milliseconds.
inline SenderOptions fast_options() {
  SenderOptions o;
  o.batch_delay = std::chrono::milliseconds(5);
  o.initial_backoff = std::chrono::milliseconds(10);
  o.max_backoff = std::chrono::milliseconds(40);
  return o;
}

}  // namespace trainer::testing
