#pragma once
// `trainer train`: trains a built-in or TorchScript model on Fashion-MNIST or on the user's files.

#include <string>
#include <vector>

namespace trainer::cli {

int run_train(const std::vector<std::string>& args);

}  // namespace trainer::cli
