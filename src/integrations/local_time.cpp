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

}  // namespace trainer
