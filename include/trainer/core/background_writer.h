#pragma once
// BackgroundWriter: the one mechanism by which integrations do their I/O off the training loop.
// Logging calls enqueue a job and return; one thread runs the jobs in order. The queue is bounded:
// when it is full, enqueue() waits for room (back-pressure), so a metric is never dropped. A job
// that throws is reported with a warning naming the integration (once per distinct message) and
// the writer goes on: a tracker that cannot write never stops training. drain() waits until every
// job enqueued so far has run; integrations call it in on_train_end (and before a process exits).

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
  explicit BackgroundWriter(std::string name, size_t capacity = 1024);
  ~BackgroundWriter();  // drains, then stops the thread
  BackgroundWriter(const BackgroundWriter&) = delete;
  BackgroundWriter& operator=(const BackgroundWriter&) = delete;

  void enqueue(std::function<void()> job);
  void drain();
  int64_t failures() const;

 private:
  void run();

  std::string name_;
  size_t capacity_;
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> queue_;
  bool busy_ = false;
  bool stop_ = false;
  int64_t failures_ = 0;
  std::set<std::string> reported_;
  std::thread thread_;
};

}  // namespace trainer
