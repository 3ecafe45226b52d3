#include "trainer/core/background_writer.h"

#include <exception>

#include "trainer/core/background_thread.h"
#include "trainer/core/logging.h"

namespace trainer {

BackgroundWriter::BackgroundWriter(std::string name, size_t capacity, std::chrono::milliseconds batch_delay)
    : name_(std::move(name)),
      capacity_(capacity == 0 ? 1 : capacity),
      batch_delay_(batch_delay),
      thread_([this] { run(); }) {
  // The bounded queue keeps the idle-class thread from falling far behind.
  set_background_thread(thread_, name_);
}

BackgroundWriter::~BackgroundWriter() {
  drain();
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void BackgroundWriter::enqueue(std::function<void()> job) {
  std::unique_lock<std::mutex> lock(mutex_);
  if (queue_.size() >= capacity_) {
    cv_.notify_all();  // a full queue is run now, not after the batch delay
    cv_.wait(lock, [this] { return queue_.size() < capacity_; });
  }
  queue_.push_back(std::move(job));
  // Wake the writer only when it waits for a first job or its batch is half full: every other
  // notification would be a wake-up for nothing.
  if (queue_.size() == 1 || queue_.size() == (capacity_ + 1) / 2) cv_.notify_all();
}

void BackgroundWriter::drain() {
  std::unique_lock<std::mutex> lock(mutex_);
  ++drainers_;
  cv_.notify_all();  // cuts the batch delay short
  cv_.wait(lock, [this] { return queue_.empty() && !busy_; });
  --drainers_;
}

void BackgroundWriter::finish() {
  drain();
  int64_t failed = 0;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    failed = failures_ - failures_reported_;
    failures_reported_ = failures_;
  }
  if (failed > 0)
    log_warning(name_ + ": " + std::to_string(failed) +
                " write(s) failed during this run; its files are incomplete (see the first warning for why)");
}

int64_t BackgroundWriter::failures() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return failures_;
}

void BackgroundWriter::run() {
  std::unique_lock<std::mutex> lock(mutex_);
  for (;;) {
    cv_.wait(lock, [this] { return !queue_.empty() || stop_; });
    if (queue_.empty()) return;
    if (batch_delay_.count() > 0)
      cv_.wait_for(lock, batch_delay_,
                   [this] { return stop_ || drainers_ > 0 || queue_.size() >= (capacity_ + 1) / 2; });
    while (!queue_.empty()) {  // the batch, and whatever arrives while it runs
      auto job = std::move(queue_.front());
      queue_.pop_front();
      busy_ = true;
      cv_.notify_all();  // room in the queue
      lock.unlock();
      std::string error;
      try {
        job();
      } catch (const std::exception& e) {
        error = e.what();
      } catch (...) {
        error = "unknown error";
      }
      lock.lock();
      busy_ = false;
      if (!error.empty()) {
        ++failures_;
        if (reported_.insert(error).second)
          log_warning(name_ + ": " + error + " (training goes on; later failures like this one are not repeated)");
      }
      cv_.notify_all();
    }
  }
}

}  // namespace trainer
