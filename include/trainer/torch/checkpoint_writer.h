#pragma once
// CheckpointWriter publishes checkpoints whose files are already serialised in memory. Synchronous,
// it writes them before returning. Asynchronous (--save_async), it hands them to one background
// thread and returns at once; only one save is in flight: the next submit() (and wait()) first waits
// for it. Either way a checkpoint appears under its name only when complete (write_checkpoint()).
// A failure in the background is rethrown by the next submit() or wait(), so none goes unnoticed.
// take_published() tells the loop which checkpoints are complete, for on_checkpoint_published.

#include <atomic>
#include <condition_variable>
#include <exception>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace trainer {

// File name -> a function that produces its contents (run by the writer, so the expensive encoding
// of large files happens off the training loop with --save_async).
using FileContents = std::function<std::string()>;
using CheckpointFiles = std::vector<std::pair<std::string, FileContents>>;
// Contents already in memory.
inline FileContents contents(std::string bytes) {
  return [b = std::make_shared<std::string>(std::move(bytes))] { return *b; };
}

class CheckpointWriter {
 public:
  explicit CheckpointWriter(bool async);
  ~CheckpointWriter();  // waits for the save in flight (errors are logged, not thrown, here)
  CheckpointWriter(const CheckpointWriter&) = delete;
  CheckpointWriter& operator=(const CheckpointWriter&) = delete;

  // Publishes run_dir/checkpoint-<step>, then runs `after` (rotation) on the same thread.
  void submit(std::filesystem::path run_dir, int64_t step, CheckpointFiles files, std::function<void()> after);
  // Waits until nothing is in flight; rethrows a failure of the last background save.
  void wait();
  bool async() const { return async_; }
  // The checkpoints published since the last call, oldest first; never blocks (one atomic load
  // when there are none, so the loop may ask after every step).
  std::vector<std::filesystem::path> take_published();

 private:
  struct Job {
    std::filesystem::path run_dir;
    int64_t step = 0;
    CheckpointFiles files;
    std::function<void()> after;
  };
  static std::filesystem::path publish(Job& job);
  void record_published(std::filesystem::path dir);
  void run();

  bool async_;
  std::mutex mutex_;
  std::condition_variable cv_;
  bool has_job_ = false;
  bool stop_ = false;
  Job job_;
  std::exception_ptr error_;
  std::vector<std::filesystem::path> published_;
  std::atomic<bool> any_published_{false};
  std::thread thread_;
};

}  // namespace trainer
