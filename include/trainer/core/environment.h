#pragma once
// Environment variables as the original's integrations read them, and the host they run on.

#include <chrono>
#include <string>

namespace trainer {

// The truthy values of the original's integrations: 1, ON, YES, TRUE (any case); unset: fallback.
bool env_flag(const char* name, bool fallback = false);
// The value, or "" when unset.
std::string env_string(const char* name);
// A setting that must be a boolean (1/true/yes/on, 0/false/no/off, any case); empty is `fallback`.
// Throws ArgumentError "NAME: expected true or false (1 or 0), got 'x'".
bool parse_bool_setting(const std::string& name, const std::string& value, bool fallback);
// A setting that must be a number of seconds > 0 (a request timeout: MLFLOW_HTTP_REQUEST_TIMEOUT,
// WANDB_HTTP_TIMEOUT); empty is `fallback`. Throws ArgumentError "NAME: expected a number of seconds
// > 0, got 'x'".
std::chrono::milliseconds parse_seconds_setting(const std::string& name, const std::string& value,
                                                std::chrono::milliseconds fallback);

// This machine's host name ("localhost" when it has none): file names and run metadata.
std::string host_name();

}  // namespace trainer
