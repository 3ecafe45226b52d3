#pragma once
// Fused optimizers: AdamW, Adam and SGD that update each parameter in a single pass over the
// parameter, its gradient and its moments, vectorised and split across threads (at::parallel_for).
// They derive from LibTorch's optimizers: same options, same state objects, so checkpoints and
// anything that reads optimizer.state() treat them alike. AdamW and Adam on the parameters of one
// CUDA device run PyTorch's multi-tensor fused kernels (torch.optim.AdamW(fused=True)); anything
// else that is not contiguous float32 on the CPU takes LibTorch's own update.

#include <vector>

#include <torch/optim/adam.h>
#include <torch/optim/adamw.h>
#include <torch/optim/sgd.h>

namespace trainer {

class FusedAdamW : public torch::optim::AdamW {
 public:
  using torch::optim::AdamW::AdamW;
  torch::Tensor step(LossClosure closure = nullptr) override;
};

class FusedAdam : public torch::optim::Adam {
 public:
  using torch::optim::Adam::Adam;
  torch::Tensor step(LossClosure closure = nullptr) override;
};

class FusedSGD : public torch::optim::SGD {
 public:
  using torch::optim::SGD::SGD;
  torch::Tensor step(LossClosure closure = nullptr) override;
};

// Clips gradients to a global L2 norm of `max_norm` exactly as torch.nn.utils.clip_grad_norm_ does
// (the original's clipping, bit for bit). Returns the norm before clipping as a 0-dim tensor on the
// gradients' device. No device-to-host synchronisation.
torch::Tensor clip_grad_norm_fused(const std::vector<torch::Tensor>& grads, double max_norm);

}  // namespace trainer
