#pragma once
// Environment variables as the original's integrations read them.

#include <string>

namespace trainer {

// The truthy values of the original's integrations: 1, ON, YES, TRUE (any case); unset: fallback.
bool env_flag(const char* name, bool fallback = false);
// The value, or "" when unset.
std::string env_string(const char* name);

}  // namespace trainer
