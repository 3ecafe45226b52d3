#include <chrono>
#include "trainer/integrations/local_time.h"

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

int64_t unix_time_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

}  // namespace trainer
