#pragma once
// Library diagnostics (warnings, information) with a replaceable sink, so applications can route
// them and tests can capture them. Training output (progress, logs) goes through callbacks instead.

#include <functional>
#include <string>

namespace trainer {

enum class LogLevel { debug = 10, info = 20, warning = 30, error = 40, critical = 50 };

using LogSink = std::function<void(LogLevel, const std::string&)>;

// Replaces the sink; returns the previous one. The default writes "[trainer] LEVEL: msg" to stderr.
LogSink set_log_sink(LogSink sink);
void set_log_level(LogLevel level);
LogLevel log_level();

void log_message(LogLevel level, const std::string& message);
inline void log_info(const std::string& m) { log_message(LogLevel::info, m); }
inline void log_warning(const std::string& m) { log_message(LogLevel::warning, m); }

}  // namespace trainer
