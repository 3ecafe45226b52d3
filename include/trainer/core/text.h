#pragma once
// Small text helpers shared by the argument parser, the HTTP client and the trackers' settings.

#include <string>

namespace trainer {

// `s` with ASCII letters in lower case (names, flags and variable values compared without case).
std::string ascii_lower(std::string s);
// `s` without leading and trailing white space (spaces, tabs, CR, LF).
std::string trim_space(const std::string& s);

}  // namespace trainer
