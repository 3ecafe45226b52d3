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

std::string host_name() {
  char buf[256] = {};
  if (gethostname(buf, sizeof(buf) - 1) != 0) return "localhost";
  return buf;
}

}  // namespace trainer
