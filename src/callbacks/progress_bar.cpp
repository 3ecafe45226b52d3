#include "trainer/callbacks/progress_bar.h"

#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>

namespace trainer {
namespace {

// Display columns of UTF-8 text: every code point is one column here (the bar's blocks included).
int display_width(const std::string& s) {
  int n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

// The first `columns` code points of `s`.
std::string cut_to(const std::string& s, int columns) {
  int n = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    if ((static_cast<unsigned char>(s[i]) & 0xC0) != 0x80 && n++ == columns) return s.substr(0, i);
  }
  return s;
}

std::string bar_cells(double frac, int width) {
  // Eighth-block resolution, as tqdm draws it.
  static const char* partial[] = {"", "▏", "▎", "▍", "▌", "▋", "▊", "▉"};
  const int eighths = static_cast<int>(frac * width * 8);
  std::string bar;
  for (int i = 0; i < eighths / 8; ++i) bar += "█";
  int cells = eighths / 8;
  if (cells < width && eighths % 8) {
    bar += partial[eighths % 8];
    ++cells;
  }
  return bar + std::string(static_cast<size_t>(width - cells), ' ');
}

}  // namespace

bool is_terminal(std::FILE* stream) { return stream && ::isatty(::fileno(stream)) == 1; }

int terminal_columns(std::FILE* stream) {
  struct winsize ws {};
  if (stream && ::ioctl(::fileno(stream), TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) return ws.ws_col;
  if (const char* env = std::getenv("COLUMNS")) {
    const int c = std::atoi(env);
    if (c > 0) return c;
  }
  return 80;
}

ProgressBar::ProgressBar(std::string description, int64_t total, std::FILE* out, bool interactive,
                         double min_interval_s, bool leave, int64_t initial)
    : description_(std::move(description)),
      total_(total),
      out_(out),
      interactive_(interactive),
      min_interval_s_(min_interval_s),
      leave_(leave),
      initial_(initial),
      count_(initial),
      start_(Clock::now()),
      last_draw_(start_) {
  if (interactive_) draw(true);
}

ProgressBar::~ProgressBar() { close(); }

double ProgressBar::elapsed() const { return std::chrono::duration<double>(Clock::now() - start_).count(); }

std::string ProgressBar::format_duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "?";
  auto s = static_cast<int64_t>(seconds);
  char buf[32];
  if (s >= 3600)
    std::snprintf(buf, sizeof buf, "%lld:%02lld:%02lld", (long long)(s / 3600), (long long)(s / 60 % 60),
                  (long long)(s % 60));
  else
    std::snprintf(buf, sizeof buf, "%02lld:%02lld", (long long)(s / 60), (long long)(s % 60));
  return buf;
}

std::string ProgressBar::render(bool with_bar, int columns) const {
  const double t = elapsed();
  const int64_t done_here = count_ - initial_;
  const double rate = t > 0 && done_here > 0 ? static_cast<double>(done_here) / t : 0.0;
  const double remaining = rate > 0 && total_ > 0 ? static_cast<double>(total_ - count_) / rate : NAN;
  char rate_buf[32];
  if (rate == 0)
    std::snprintf(rate_buf, sizeof rate_buf, "?it/s");
  else if (rate >= 1)
    std::snprintf(rate_buf, sizeof rate_buf, "%.2fit/s", rate);
  else
    std::snprintf(rate_buf, sizeof rate_buf, "%.2fs/it", 1.0 / rate);
  std::string left = description_.empty() ? "" : description_ + ": ";
  std::string right;
  double frac = 0;
  if (total_ > 0) {
    frac = std::clamp(static_cast<double>(count_) / static_cast<double>(total_), 0.0, 1.0);
    char pct[8];
    std::snprintf(pct, sizeof pct, "%3d%%", static_cast<int>(frac * 100));
    left += pct;
    right = " " + std::to_string(count_) + "/" + std::to_string(total_);
  } else {
    right = std::to_string(count_);
  }
  right += " [" + format_duration(t) + "<" + format_duration(remaining) + ", " + rate_buf + "]";
  std::string line;
  if (with_bar && total_ > 0) {
    // The bar takes what the text leaves, up to tqdm's default width; below 5 cells it is dropped.
    const int room = columns > 0 ? columns - display_width(left) - display_width(right) - 2 : 20;
    const int width = std::min(room, 20);
    line = width >= 5 ? left + "|" + bar_cells(frac, width) + "|" + right : left + right;
  } else {
    line = left + right;
  }
  return columns > 0 && display_width(line) > columns ? cut_to(line, columns) : line;
}

int ProgressBar::columns() const {
  // One column short of the width: a line that fills the last column makes some terminals wrap.
  return std::max(1, (fixed_columns_ > 0 ? fixed_columns_ : terminal_columns(out_)) - 1);
}

void ProgressBar::print_line(bool in_place) {
  if (in_place) {
    std::fprintf(out_, "\r\033[K%s", render(true, columns()).c_str());
  } else {
    std::fprintf(out_, "%s\n", render(false).c_str());
    printed_count_ = count_;
  }
}

void ProgressBar::draw(bool force) {
  if (!out_ || closed_) return;
  const auto now = Clock::now();
  if (interactive_) {
    // Redraw at most ~10 times a second; the terminal is not the bottleneck we want.
    if (!force && now - last_draw_ < std::chrono::milliseconds(100)) return;
    print_line(true);
  } else {
    if (!force && std::chrono::duration<double>(now - last_draw_).count() < min_interval_s_) return;
    if (count_ == printed_count_) return;
    print_line(false);
  }
  std::fflush(out_);
  last_draw_ = now;
}

void ProgressBar::update(int64_t n) {
  count_ += n;
  draw(total_ > 0 && count_ >= total_);
}

void ProgressBar::write(const std::string& message) {
  if (!out_) return;
  if (interactive_ && !closed_) std::fprintf(out_, "\r\033[K");
  std::fprintf(out_, "%s\n", message.c_str());
  if (interactive_ && !closed_) print_line(true);
  std::fflush(out_);
}

void ProgressBar::close() {
  if (closed_ || !out_) {
    closed_ = true;
    return;
  }
  if (interactive_) {
    if (leave_) {
      print_line(true);
      std::fprintf(out_, "\n");
    } else {
      std::fprintf(out_, "\r\033[K");
    }
  } else if (leave_ && count_ != printed_count_) {
    print_line(false);  // the final count, unless the last line already showed it
  }
  std::fflush(out_);
  closed_ = true;
}

}  // namespace trainer
