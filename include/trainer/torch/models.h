#pragma once
// The built-in models of the `trainer` program, for 28x28 single-channel images and 10 classes.

#include <memory>
#include <string>

#include "trainer/torch/model.h"

namespace trainer {

// "mlp": 784-256-128-10 with ReLU. "cnn": two 3x3 convolutions (32, 64 channels) with max-pooling,
// then 128 hidden units. Throws std::invalid_argument for another name.
std::shared_ptr<Model> make_builtin_model(const std::string& name, int64_t in_features = 784, int64_t num_classes = 10);

}  // namespace trainer
