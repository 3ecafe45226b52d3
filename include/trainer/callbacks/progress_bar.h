#pragma once
// A tqdm-style progress bar. On a terminal it redraws one line in place
// (` 45%|████▌     | 450/1000 [00:12<00:15, 36.50it/s]`); elsewhere (log files, CI) it prints a
// plain line at most every `min_interval_s` seconds and at the end, so logs stay readable.

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>

namespace trainer {

class ProgressBar {
 public:
  using Clock = std::chrono::steady_clock;
  ProgressBar(std::string description, int64_t total, std::FILE* out, bool interactive, double min_interval_s = 30.0,
              bool leave = true);
  ~ProgressBar();

  void update(int64_t n = 1);
  // Prints a message above the bar (the bar is redrawn beneath it on a terminal).
  void write(const std::string& message);
  void close();

  int64_t count() const { return count_; }
  // "450/1000 [00:12<00:15, 36.50it/s]" style summary; exposed for tests.
  std::string render(bool with_bar) const;
  // Seconds formatted as MM:SS, or H:MM:SS past an hour.
  static std::string format_duration(double seconds);

 private:
  void draw(bool force);
  double elapsed() const;

  std::string description_;
  int64_t total_;
  std::FILE* out_;
  bool interactive_;
  double min_interval_s_;
  bool leave_;
  int64_t count_ = 0;
  bool closed_ = false;
  Clock::time_point start_;
  Clock::time_point last_draw_;
};

// True when `stream` is a terminal (then progress is drawn in place).
bool is_terminal(std::FILE* stream);

}  // namespace trainer
