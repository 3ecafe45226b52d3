#pragma once
// Helpers shared by the tests: capturing library warnings, temporary directories, golden files.

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "trainer/core/logging.h"

namespace trainer::testing {

// Captures library log messages while alive.
class CapturedLogs {
 public:
  CapturedLogs() {
    previous_ = set_log_sink([this](LogLevel, const std::string& m) { messages.push_back(m); });
  }
  ~CapturedLogs() { set_log_sink(previous_); }
  bool contains(const std::string& needle) const {
    for (const auto& m : messages)
      if (m.find(needle) != std::string::npos) return true;
    return false;
  }
  std::vector<std::string> messages;

 private:
  LogSink previous_;
};

// A fresh directory under the system temp dir, removed with its contents when destroyed.
class TempDir {
 public:
  TempDir() {
    static int counter = 0;
    path_ = std::filesystem::temp_directory_path() /
            ("trainer-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

// A whole file, bytes as they are ("" when it cannot be read).
inline std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

inline std::filesystem::path golden(const std::string& name) {
  return std::filesystem::path(TRAINER_BINARY_DIR) / "tests" / "golden" / name;  // made by the build (golden_values)
}

}  // namespace trainer::testing
