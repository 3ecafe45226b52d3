#pragma once
// Device placement and seeding. Placement is explicit: CUDA when available unless --use_cpu.

#include <cstdint>

#include <torch/types.h>

#include "trainer/core/training_arguments.h"

namespace trainer {

torch::Device resolve_device(const TrainingArguments& args);

// Seeds LibTorch's CPU and CUDA generators (the original's set_seed).
void set_seed(int64_t seed);

}  // namespace trainer
