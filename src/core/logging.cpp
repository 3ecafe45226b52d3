#include "trainer/core/logging.h"

#include <cstdio>
#include <mutex>

namespace trainer {
namespace {

const char* level_name(LogLevel level) {
  switch (level) {
    case LogLevel::debug: return "DEBUG";
    case LogLevel::info: return "INFO";
    case LogLevel::warning: return "WARNING";
    case LogLevel::error: return "ERROR";
    case LogLevel::critical: return "CRITICAL";
  }
  return "LOG";
}

struct Logger {
  std::mutex mutex;
  LogLevel level = LogLevel::warning;
  LogSink sink = [](LogLevel l, const std::string& m) {
    std::fprintf(stderr, "[trainer] %s: %s\n", level_name(l), m.c_str());
  };
};

Logger& logger() {
  static Logger instance;
  return instance;
}

}  // namespace

LogSink set_log_sink(LogSink sink) {
  std::lock_guard<std::mutex> lock(logger().mutex);
  std::swap(logger().sink, sink);
  return sink;
}

void set_log_level(LogLevel level) {
  std::lock_guard<std::mutex> lock(logger().mutex);
  logger().level = level;
}

LogLevel log_level() {
  std::lock_guard<std::mutex> lock(logger().mutex);
  return logger().level;
}

void log_message(LogLevel level, const std::string& message) {
  std::lock_guard<std::mutex> lock(logger().mutex);
  if (static_cast<int>(level) < static_cast<int>(logger().level) || !logger().sink) return;
  logger().sink(level, message);
}

}  // namespace trainer
