#pragma once
// Optimizer state in checkpoints as optimizer.safetensors: every moment and momentum buffer as a
// tensor named "state.<parameter index>.<name>" (parameters numbered across groups in order), and the
// per-parameter step counts and per-group learning rates as JSON under the "optimizer" metadata key.
// Readable anywhere safetensors is, and quick to snapshot: taking one is a copy of the tensors.

#include <filesystem>
#include <map>
#include <string>

#include <torch/optim/optimizer.h>

#include "trainer/core/json.h"
#include "trainer/torch/model.h"

namespace trainer {

// The key under which LibTorch's optimizers file a parameter's state (Optimizer::state()).
inline void* optimizer_state_key(const torch::Tensor& parameter) { return parameter.unsafeGetTensorImpl(); }

struct OptimizerSnapshot {
  NamedTensors tensors;  // copies on the CPU, independent of the live optimizer
  Json meta;             // {"type": ..., "steps": {index: n}, "group_lrs": [...]}
};

// Host buffers that snapshots copy into and reuse from one save to the next (the copy of a large
// model then costs a memcpy, not fresh allocations and page faults). A buffer still referenced
// elsewhere (a save in flight) is never overwritten: a new one is allocated instead.
class SnapshotPool {
 public:
  torch::Tensor copy(const std::string& name, const torch::Tensor& source);

 private:
  std::map<std::string, torch::Tensor> buffers_;
};

// Copies the state of an AdamW, Adam or SGD optimizer. Throws std::invalid_argument for other types.
OptimizerSnapshot snapshot_optimizer(torch::optim::Optimizer& optimizer, SnapshotPool* pool = nullptr);
std::string optimizer_state_bytes(const OptimizerSnapshot& snapshot);
// Restores state saved by optimizer_state_bytes() into an optimizer of the same type and shape.
// Throws std::runtime_error naming the file and the mismatch otherwise.
void load_optimizer_state(torch::optim::Optimizer& optimizer, const std::filesystem::path& path);

}  // namespace trainer
