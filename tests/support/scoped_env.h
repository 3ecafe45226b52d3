#pragma once
// ScopedEnv: sets (or unsets) environment variables for one test and restores them after it.

#include <cstdlib>
#include <map>
#include <optional>
#include <string>

namespace trainer::testing {

class ScopedEnv {
 public:
  ScopedEnv& set(const std::string& name, const std::string& value) {
    remember(name);
    setenv(name.c_str(), value.c_str(), 1);
    return *this;
  }
  ScopedEnv& unset(const std::string& name) {
    remember(name);
    unsetenv(name.c_str());
    return *this;
  }
  ~ScopedEnv() {
    for (const auto& [name, value] : saved_)
      if (value)
        setenv(name.c_str(), value->c_str(), 1);
      else
        unsetenv(name.c_str());
  }

 private:
  void remember(const std::string& name) {
    if (saved_.count(name)) return;
    const char* v = std::getenv(name.c_str());
    saved_[name] = v ? std::optional<std::string>(v) : std::nullopt;
  }
  std::map<std::string, std::optional<std::string>> saved_;
};

}  // namespace trainer::testing
