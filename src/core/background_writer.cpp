#include "trainer/core/background_writer.h"

#include <exception>

#include "trainer/core/logging.h"

namespace trainer {

BackgroundWriter::BackgroundWriter(std::string name, size_t capacity)
    : name_(std::move(name)), capacity_(capacity == 0 ? 1 : capacity), thread_([this] { run(); }) {}

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
  cv_.wait(lock, [this] { return queue_.size() < capacity_; });
  queue_.push_back(std::move(job));
  cv_.notify_all();
}

void BackgroundWriter::drain() {
  std::unique_lock<std::mutex> lock(mutex_);
  cv_.wait(lock, [this] { return queue_.empty() && !busy_; });
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

}  // namespace trainer
