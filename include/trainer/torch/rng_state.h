#pragma once
// Random-number-generator states in checkpoints (rng_state.pth): LibTorch's CPU generator and every
// CUDA device's, as a dict {"cpu": ByteTensor, "cuda": [ByteTensor, ...]} that Python's torch.load
// reads too.

#include <filesystem>
#include <string>

namespace trainer {

std::string rng_state_bytes();
void save_rng_state(const std::filesystem::path& path);
// Restores what the file holds; CUDA states are skipped (with a warning) when the device count differs.
void load_rng_state(const std::filesystem::path& path);

}  // namespace trainer
