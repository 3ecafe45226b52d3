#pragma once
// Environment variables as the original's integrations read them, and the host they run on.

#include <string>

namespace trainer {

// The truthy values of the original's integrations: 1, ON, YES, TRUE (any case); unset: fallback.
bool env_flag(const char* name, bool fallback = false);
// The value, or "" when unset.
std::string env_string(const char* name);
// This machine's host name ("localhost" when it has none): file names and run metadata.
std::string host_name();

}  // namespace trainer
