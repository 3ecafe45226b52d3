#include "trainer/core/local_time.h"

#include <chrono>
#include <cstdio>
#include <ctime>

namespace trainer {

std::string local_time_now(const char* strftime_format) {
  const std::time_t now = std::time(nullptr);
  std::tm local{};
  localtime_r(&now, &local);
  char buf[128];
  const size_t n = std::strftime(buf, sizeof(buf), strftime_format, &local);
  return std::string(buf, n);
}

std::string utc_time_iso8601() {
  const auto now = std::chrono::system_clock::now();
  const auto micros = std::chrono::duration_cast<std::chrono::microseconds>(now.time_since_epoch()).count();
  const std::time_t seconds = static_cast<std::time_t>(micros / 1000000);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char buf[64];
  const size_t n = std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &utc);
  char fraction[16];
  std::snprintf(fraction, sizeof(fraction), ".%06lld+00:00", static_cast<long long>(micros % 1000000));
  return std::string(buf, n) + fraction;
}

int64_t unix_time_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace trainer
