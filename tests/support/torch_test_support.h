#pragma once
// Helpers shared by the LibTorch tests: a small learnable dataset and quiet arguments.

#include <filesystem>
#include <memory>

#include <torch/torch.h>

#include "trainer/core/training_arguments.h"
#include "trainer/torch/data_loader.h"

namespace trainer::testing {

// A learnable problem: the class is which of 3 feature groups has the largest sum.
inline std::shared_ptr<TensorDataset> blobs(int64_t n, uint64_t seed) {
  auto gen = at::detail::createCPUGenerator(seed);
  auto x = torch::randn({n, 6}, gen);
  auto y = x.reshape({n, 3, 2}).sum(2).argmax(1);
  return std::make_shared<TensorDataset>(x, y);
}

// Small batches, two epochs, no checkpoints, no progress bar: fast and quiet.
inline TrainingArguments quiet_args(const std::filesystem::path& out) {
  TrainingArguments a;
  a.output_dir = out.string();
  a.learning_rate = 1e-2;
  a.per_device_train_batch_size = 16;
  a.per_device_eval_batch_size = 32;
  a.num_train_epochs = 2;
  a.save_strategy = SaveStrategy::no;
  a.logging_steps = 5;
  a.use_cpu = true;
  a.disable_tqdm = true;
  return a;
}

}  // namespace trainer::testing
