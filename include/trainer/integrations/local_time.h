#pragma once
// The local time now, formatted with strftime: how trackers stamp run names, rows and pages.

#include <cstdint>
#include <string>

namespace trainer {

std::string local_time_now(const char* strftime_format);

// Milliseconds since the Unix epoch: the timestamps trackers send.
int64_t unix_time_ms();

}  // namespace trainer
