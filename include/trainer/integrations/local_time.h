#pragma once
// The local time now, formatted with strftime: how trackers stamp run names, rows and pages.

#include <string>

namespace trainer {

std::string local_time_now(const char* strftime_format);

}  // namespace trainer
