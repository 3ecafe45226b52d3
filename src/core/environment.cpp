#include "trainer/core/environment.h"

#include <unistd.h>

#include <cctype>
#include <cstdlib>

#include "trainer/core/argument_spec.h"
#include "trainer/core/text.h"

namespace trainer {

std::string env_string(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

bool env_flag(const char* name, bool fallback) {
  const char* v = std::getenv(name);
  if (!v) return fallback;
  std::string u = v;
  for (char& c : u) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return u == "1" || u == "ON" || u == "YES" || u == "TRUE";
}

bool parse_bool_setting(const std::string& name, const std::string& value, bool fallback) {
  const std::string v = ascii_lower(trim_space(value));
  if (v.empty()) return fallback;
  if (v == "1" || v == "true" || v == "yes" || v == "on") return true;
  if (v == "0" || v == "false" || v == "no" || v == "off") return false;
  throw ArgumentError(name + ": expected true or false (1 or 0), got '" + value + "'");
}

std::chrono::milliseconds parse_seconds_setting(const std::string& name, const std::string& value,
                                                std::chrono::milliseconds fallback) {
  if (value.empty()) return fallback;
  double seconds = -1;
  try {
    size_t used = 0;
    seconds = std::stod(value, &used);
    if (used != value.size()) seconds = -1;
  } catch (const std::exception&) {}
  if (!(seconds > 0) || seconds > 1e9)
    throw ArgumentError(name + ": expected a number of seconds > 0, got '" + value + "'");
  return std::chrono::milliseconds(static_cast<int64_t>(seconds * 1000));
}

std::string host_name() {
  char buf[256] = {};
  if (gethostname(buf, sizeof(buf) - 1) != 0) return "localhost";
  return buf;
}

}  // namespace trainer
