#include "trainer/callbacks/progress_bar.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>

namespace trainer {

bool is_terminal(std::FILE* stream) { return stream && ::isatty(::fileno(stream)) == 1; }

ProgressBar::ProgressBar(std::string description, int64_t total, std::FILE* out, bool interactive, double min_interval_s,
                         bool leave)
    : description_(std::move(description)),
      total_(total),
      out_(out),
      interactive_(interactive),
      min_interval_s_(min_interval_s),
      leave_(leave),
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
  if (s >= 3600) std::snprintf(buf, sizeof buf, "%lld:%02lld:%02lld", (long long)(s / 3600), (long long)(s / 60 % 60), (long long)(s % 60));
  else std::snprintf(buf, sizeof buf, "%02lld:%02lld", (long long)(s / 60), (long long)(s % 60));
  return buf;
}

std::string ProgressBar::render(bool with_bar) const {
  const double t = elapsed();
  const double rate = t > 0 ? static_cast<double>(count_) / t : 0.0;
  const double remaining = rate > 0 && total_ > 0 ? static_cast<double>(total_ - count_) / rate : NAN;
  char rate_buf[32];
  if (rate >= 1 || rate == 0) std::snprintf(rate_buf, sizeof rate_buf, "%.2fit/s", rate);
  else std::snprintf(rate_buf, sizeof rate_buf, "%.2fs/it", 1.0 / rate);
  std::string out = description_.empty() ? "" : description_ + ": ";
  if (total_ > 0) {
    const double frac = std::clamp(static_cast<double>(count_) / static_cast<double>(total_), 0.0, 1.0);
    char pct[8];
    std::snprintf(pct, sizeof pct, "%3d%%", static_cast<int>(frac * 100));
    out += pct;
    if (with_bar) {
      // Width 20 with eighth-block resolution, as tqdm draws it.
      static const char* partial[] = {"", "▏", "▎", "▍", "▌", "▋", "▊", "▉"};
      const int width = 20;
      const int eighths = static_cast<int>(frac * width * 8);
      std::string bar;
      for (int i = 0; i < eighths / 8; ++i) bar += "█";
      int cells = eighths / 8;
      if (cells < width && eighths % 8) { bar += partial[eighths % 8]; ++cells; }
      bar += std::string(static_cast<size_t>(width - cells), ' ');
      out += "|" + bar + "|";
    }
    out += " " + std::to_string(count_) + "/" + std::to_string(total_);
  } else {
    out += std::to_string(count_);
  }
  out += " [" + format_duration(t) + "<" + format_duration(remaining) + ", " + rate_buf + "]";
  return out;
}

void ProgressBar::draw(bool force) {
  if (!out_ || closed_) return;
  const auto now = Clock::now();
  if (interactive_) {
    // Redraw at most ~10 times a second; the terminal is not the bottleneck we want.
    if (!force && now - last_draw_ < std::chrono::milliseconds(100)) return;
    std::fprintf(out_, "\r\033[K%s", render(true).c_str());
  } else {
    if (!force && std::chrono::duration<double>(now - last_draw_).count() < min_interval_s_) return;
    std::fprintf(out_, "%s\n", render(false).c_str());
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
  if (interactive_ && !closed_) std::fprintf(out_, "%s", render(true).c_str());
  std::fflush(out_);
}

void ProgressBar::close() {
  if (closed_ || !out_) {
    closed_ = true;
    return;
  }
  if (interactive_) {
    if (leave_) {
      std::fprintf(out_, "\r\033[K%s\n", render(true).c_str());
    } else {
      std::fprintf(out_, "\r\033[K");
    }
  } else if (leave_) {
    std::fprintf(out_, "%s\n", render(false).c_str());
  }
  std::fflush(out_);
  closed_ = true;
}

}  // namespace trainer
