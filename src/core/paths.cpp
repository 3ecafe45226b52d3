#include "trainer/core/paths.h"

#include <cstdlib>

namespace trainer {

std::string expand_user(const std::string& path) {
  if (path.empty() || path[0] != '~' || (path.size() > 1 && path[1] != '/')) return path;
  const char* home = std::getenv("HOME");
  return home ? home + path.substr(1) : path;
}

}  // namespace trainer
