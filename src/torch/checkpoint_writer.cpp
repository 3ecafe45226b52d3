#include "trainer/torch/checkpoint_writer.h"

#include "trainer/core/atomic_file.h"
#include "trainer/core/logging.h"
#include "trainer/torch/checkpoint.h"
#include "trainer/torch/checkpoint_manifest.h"

namespace trainer {

CheckpointWriter::CheckpointWriter(bool async) : async_(async) {
  if (async_) thread_ = std::thread([this] { run(); });
}

CheckpointWriter::~CheckpointWriter() {
  if (!async_) return;
  try {
    wait();
  } catch (const std::exception& e) {
    log_warning(std::string("the last asynchronous checkpoint save failed: ") + e.what());
  }
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

std::filesystem::path CheckpointWriter::publish(Job& job) {
  auto published = write_checkpoint(job.run_dir, job.step, [&](const std::filesystem::path& dir) {
    CheckpointManifest manifest;
    for (const auto& [name, produce] : job.files) {
      const std::string bytes = produce();
      manifest.add(name, bytes);
      write_file_atomic(dir / name, bytes);
    }
    write_file_atomic(dir / kManifestFile, manifest.to_json_string());  // last: it vouches for the others
  });
  if (job.after) job.after();
  return published;
}

void CheckpointWriter::record_published(std::filesystem::path dir) {
  std::lock_guard<std::mutex> lock(mutex_);
  published_.push_back(std::move(dir));
  any_published_.store(true, std::memory_order_release);
}

std::vector<std::filesystem::path> CheckpointWriter::take_published() {
  if (!any_published_.load(std::memory_order_acquire)) return {};
  std::lock_guard<std::mutex> lock(mutex_);
  any_published_.store(false, std::memory_order_relaxed);
  return std::exchange(published_, {});
}

void CheckpointWriter::submit(std::filesystem::path run_dir, int64_t step, CheckpointFiles files,
                              std::function<void()> after) {
  Job job{std::move(run_dir), step, std::move(files), std::move(after)};
  if (!async_) {
    record_published(publish(job));
    return;
  }
  wait();
  {
    std::lock_guard<std::mutex> lock(mutex_);
    job_ = std::move(job);
    has_job_ = true;
  }
  cv_.notify_all();
}

void CheckpointWriter::wait() {
  if (!async_) return;
  std::unique_lock<std::mutex> lock(mutex_);
  cv_.wait(lock, [this] { return !has_job_; });
  if (error_) {
    auto e = error_;
    error_ = nullptr;
    std::rethrow_exception(e);
  }
}

void CheckpointWriter::run() {
  std::unique_lock<std::mutex> lock(mutex_);
  for (;;) {
    cv_.wait(lock, [this] { return has_job_ || stop_; });
    if (!has_job_) return;
    lock.unlock();
    std::exception_ptr error;
    try {
      record_published(publish(job_));
    } catch (...) {
      error = std::current_exception();
    }
    job_ = Job{};  // frees the snapshot's memory before signalling
    lock.lock();
    error_ = error;
    has_job_ = false;
    cv_.notify_all();
  }
}

}  // namespace trainer
