#include "trainer/torch/device.h"

#if defined(__x86_64__) || defined(__i386__)
#include <xmmintrin.h>
#endif

#include <ATen/Parallel.h>
#include <ATen/autocast_mode.h>
#include <torch/cuda.h>
#include <torch/utils.h>

namespace trainer {

torch::Device resolve_device(const TrainingArguments& args, int64_t local_rank) {
  if (!args.use_cpu && torch::cuda::is_available()) {
    const auto count = static_cast<int64_t>(torch::cuda::device_count());
    return torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(local_rank % count));
  }
  return torch::Device(torch::kCPU);
}

void set_seed(int64_t seed) { torch::manual_seed(static_cast<uint64_t>(seed)); }

bool set_flush_denormal(bool on) {
  bool supported = at::globalContext().setFlushDenormal(on);
  // One task per intra-op thread, so each applies the setting to itself.
  const int64_t threads = at::get_num_threads();
  at::parallel_for(0, threads, 1, [on](int64_t, int64_t) { at::globalContext().setFlushDenormal(on); });
  return supported;
}

bool flush_denormal_enabled() {
#if defined(__x86_64__) || defined(__i386__)
  constexpr unsigned kFlushToZero = 0x8000, kDenormalsAreZero = 0x40;  // MXCSR bits
  return (_mm_getcsr() & (kFlushToZero | kDenormalsAreZero)) != 0;
#else
  return false;
#endif
}

AutocastScope::AutocastScope(bool enabled, const torch::Device& device, at::ScalarType dtype) {
  if (!enabled) return;
  active_ = true;
  device_type_ = device.type();
  previous_ = at::autocast::is_autocast_enabled(device_type_);
  previous_dtype_ = at::autocast::get_autocast_dtype(device_type_);
  at::autocast::set_autocast_dtype(device_type_, dtype);
  at::autocast::set_autocast_enabled(device_type_, true);
  at::autocast::increment_nesting();
}

AutocastScope::~AutocastScope() {
  if (!active_) return;
  if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
  at::autocast::set_autocast_enabled(device_type_, previous_);
  at::autocast::set_autocast_dtype(device_type_, previous_dtype_);
}

}  // namespace trainer
