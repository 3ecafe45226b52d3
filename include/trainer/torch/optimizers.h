#pragma once
// Building the optimizer from TrainingArguments: two parameter groups, weight decay on every
// parameter except biases and normalisation weights.

#include <memory>
#include <string>
#include <vector>

#include <torch/optim/optimizer.h>

#include "trainer/core/training_arguments.h"
#include "trainer/torch/model.h"

namespace trainer {

// True for parameters the original keeps out of weight decay: names with "bias", "layernorm",
// "rmsnorm", a path segment exactly "norm", a segment ending in "_norm", or listed by the model.
bool excluded_from_weight_decay(const std::string& name, const std::vector<std::string>& normalization_params);

// adamw_torch_fused (default) / adamw: FusedAdamW; adamw_torch: LibTorch's AdamW; adam: FusedAdam;
// sgd: FusedSGD (momentum etc. from --optim_args). The fused ones compute the same update in one pass.
// Throws ArgumentError for unknown --optim_args keys.
std::unique_ptr<torch::optim::Optimizer> create_optimizer(const TrainingArguments& args, Model& model);

// Writes a parameter group's learning rate, whatever the optimizer type.
void set_group_learning_rate(torch::optim::Optimizer& optimizer, size_t group, double lr);
double group_learning_rate(const torch::optim::Optimizer& optimizer, size_t group);

}  // namespace trainer
