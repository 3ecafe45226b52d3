#pragma once
// The local time now, formatted with strftime: how trackers stamp run names, rows and pages.

#include <cstdint>
#include <string>

namespace trainer {

std::string local_time_now(const char* strftime_format);

// UTC now as Python's datetime.now(timezone.utc).isoformat(): 2026-12-01T18:40:12.345678+00:00.
std::string utc_time_iso8601();

// Milliseconds since the Unix epoch: the timestamps trackers send.
int64_t unix_time_ms();

}  // namespace trainer
