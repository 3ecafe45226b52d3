#include "trainer/torch/device.h"

#include <torch/cuda.h>
#include <torch/utils.h>

namespace trainer {

torch::Device resolve_device(const TrainingArguments& args) {
  if (!args.use_cpu && torch::cuda::is_available()) return torch::Device(torch::kCUDA, 0);
  return torch::Device(torch::kCPU);
}

void set_seed(int64_t seed) { torch::manual_seed(static_cast<uint64_t>(seed)); }

}  // namespace trainer
