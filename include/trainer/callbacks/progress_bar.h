#pragma once
// A tqdm-style progress bar. On a terminal it redraws one line in place
// (` 45%|████▌     | 450/1000 [00:12<00:15, 36.50it/s]`), as wide as the terminal is now (it follows
// resizes, as tqdm's dynamic_ncols; the bar shrinks first, then the line is cut, so it never wraps).
// Elsewhere (log files, CI) it prints a plain line at most every `min_interval_s` seconds and once
// at the end, so logs stay readable.

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>

namespace trainer {

class ProgressBar {
 public:
  using Clock = std::chrono::steady_clock;
  // `initial`: items already done when the bar starts (left out of the rate, as tqdm does).
  ProgressBar(std::string description, int64_t total, std::FILE* out, bool interactive, double min_interval_s = 30.0,
              bool leave = true, int64_t initial = 0);
  ~ProgressBar();

  void update(int64_t n = 1);
  // Prints a message above the bar (the bar is redrawn beneath it on a terminal).
  void write(const std::string& message);
  void close();

  int64_t count() const { return count_; }
  // The line, at most `columns` display columns wide (0: no limit); the bar itself is drawn only
  // when `with_bar` and there is room for it. Exposed for tests.
  std::string render(bool with_bar, int columns = 0) const;
  // Seconds formatted as MM:SS, or H:MM:SS past an hour.
  static std::string format_duration(double seconds);
  // Fixes the width instead of following the terminal (0: follow it).
  void set_columns(int columns) { fixed_columns_ = columns; }

 private:
  void draw(bool force);
  void print_line(bool in_place);
  int columns() const;
  double elapsed() const;

  std::string description_;
  int64_t total_;
  std::FILE* out_;
  bool interactive_;
  double min_interval_s_;
  bool leave_;
  int64_t initial_;
  int64_t count_;
  int64_t printed_count_ = -1;  // the count of the last plain line, so the final one is not repeated
  int fixed_columns_ = 0;
  bool closed_ = false;
  Clock::time_point start_;
  Clock::time_point last_draw_;
};

// True when `stream` is a terminal (then progress is drawn in place).
bool is_terminal(std::FILE* stream);
// The width of the terminal `stream` is, or of $COLUMNS, else 80.
int terminal_columns(std::FILE* stream);

}  // namespace trainer
