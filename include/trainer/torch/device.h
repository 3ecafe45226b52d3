#pragma once
// Device placement and seeding. Placement is explicit: CUDA when available unless --use_cpu.

#include <cstdint>

#include <torch/types.h>

#include "trainer/core/training_arguments.h"

namespace trainer {

// The device to train on: CUDA unless --use_cpu or none is present; in a job of several processes
// on one box, local rank r takes CUDA device r (modulo the devices present).
torch::Device resolve_device(const TrainingArguments& args, int64_t local_rank = 0);

// Seeds LibTorch's CPU and CUDA generators (the original's set_seed).
void set_seed(int64_t seed);

// Flush-to-zero and denormals-are-zero for float arithmetic on the CPU, on this thread and on
// LibTorch's intra-op worker threads (the setting is per thread). Returns whether the CPU supports it.
bool set_flush_denormal(bool on);
// Whether flush-to-zero is on for this thread's float arithmetic.
bool flush_denormal_enabled();

// Flush-to-zero set for the lifetime of the scope (the training loop's), and the previous setting
// restored afterwards, so code outside train() keeps its own numerics.
class FlushDenormalScope {
 public:
  explicit FlushDenormalScope(bool on) : previous_(flush_denormal_enabled()) { set_flush_denormal(on); }
  ~FlushDenormalScope() { set_flush_denormal(previous_); }
  FlushDenormalScope(const FlushDenormalScope&) = delete;
  FlushDenormalScope& operator=(const FlushDenormalScope&) = delete;

 private:
  bool previous_;
};

// Mixed precision for the forward pass while alive: autocast to `dtype` (bfloat16 for --bf16;
// float16 on CUDA) on the device's type when `enabled`; nothing otherwise. Restores the previous
// state when destroyed.
class AutocastScope {
 public:
  AutocastScope(bool enabled, const torch::Device& device, at::ScalarType dtype = at::kBFloat16);
  ~AutocastScope();
  AutocastScope(const AutocastScope&) = delete;
  AutocastScope& operator=(const AutocastScope&) = delete;

 private:
  bool active_ = false;
  c10::DeviceType device_type_ = c10::DeviceType::CPU;
  bool previous_ = false;
  at::ScalarType previous_dtype_ = at::kBFloat16;
};

}  // namespace trainer
