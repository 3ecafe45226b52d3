#pragma once
// Paths as users write them.

#include <string>

namespace trainer {

// A leading "~" becomes $HOME, as Python's os.path.expanduser does for the current user.
std::string expand_user(const std::string& path);

}  // namespace trainer
