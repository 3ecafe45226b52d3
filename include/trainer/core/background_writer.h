#pragma once
// BackgroundWriter: the one mechanism by which integrations do their I/O off the training loop.
// Logging calls enqueue a job and return; one thread runs the jobs in order. The queue is bounded:
// when it is full, enqueue() waits for room (back-pressure), so a metric is never dropped. A job
// that throws is reported with a warning naming the integration (once per distinct message) and
// the writer goes on: a tracker that cannot write never stops training. drain() waits until every
// job enqueued so far has run; integrations call it in on_train_end (and before a process exits).
//
// Jobs are run in batches: the thread wakes when a job arrives in an empty queue, then waits up to
// `batch_delay` for more (less if the queue fills halfway or someone drains), and runs them all.
// A tracker's files are at most that much behind the loop, and the training threads are
// interrupted a few times a second instead of once per job (on a machine with few cores, each
// interruption can stall a step).

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <set>
#include <string>
#include <thread>

namespace trainer {

class BackgroundWriter {
 public:
  explicit BackgroundWriter(std::string name, size_t capacity = 1024,
                            std::chrono::milliseconds batch_delay = std::chrono::milliseconds(200));
  ~BackgroundWriter();  // drains, then stops the thread
  BackgroundWriter(const BackgroundWriter&) = delete;
  BackgroundWriter& operator=(const BackgroundWriter&) = delete;

  void enqueue(std::function<void()> job);
  void drain();
  // drain(), then one warning with the number of failed jobs of this run if there were any
  // (integrations call it in on_train_end), and the count starts again.
  void finish();
  int64_t failures() const;

 private:
  void run();

  std::string name_;
  size_t capacity_;
  std::chrono::milliseconds batch_delay_;
  int drainers_ = 0;
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> queue_;
  bool busy_ = false;
  bool stop_ = false;
  int64_t failures_ = 0;
  int64_t failures_reported_ = 0;
  std::set<std::string> reported_;
  std::thread thread_;
};

}  // namespace trainer
