#pragma once
// `trainer env`: what a bug report needs to know about this installation (the original's
// `transformers env`).

#include <string>
#include <vector>

namespace trainer::cli {

int run_env(const std::vector<std::string>& args);

}  // namespace trainer::cli
