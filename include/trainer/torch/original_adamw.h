#pragma once
// --optim adamw_torch: torch.optim.AdamW's own update (its single-tensor path, which Python takes
// for CPU tensors), operation for operation, so that a run here and the Hugging Face Trainer's with
// the same weights and batches end with the same weights (tests/oracle). LibTorch's C++ AdamW
// averages the first moment with mul_ and add_ where Python uses lerp_, and drifts from it by an
// ulp a step. Same options and state objects as LibTorch's AdamW: checkpoints are unchanged.

#include <torch/optim/adamw.h>

namespace trainer {

class OriginalAdamW : public torch::optim::AdamW {
 public:
  using torch::optim::AdamW::AdamW;
  torch::Tensor step(LossClosure closure = nullptr) override;
};

}  // namespace trainer
