#pragma once
// What the process runs on, for bug reports (`trainer env`) and for the performance hints the
// Trainer prints once per run: the math library's kernel, threads against cores, subnormal values.

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <torch/optim/optimizer.h>

namespace trainer {

struct RuntimeEnvironment {
  std::string trainer_version;
  std::string libtorch_version;
  std::string cpu_model;
  std::vector<std::string> cpu_vector_extensions;  // avx2, avx512f, ... that the CPU has
  int64_t cpu_cores = 0;                           // usable by this process (affinity)
  int64_t physical_cores = 0;                      // of those, distinct cores (hyperthreads counted once)
  int64_t intra_op_threads = 0;                    // LibTorch's (OMP_NUM_THREADS / at::set_num_threads)
  std::string blas_config;                         // openblas_get_config(), empty when not OpenBLAS
  std::string blas_kernel;                         // openblas_get_corename()
  int64_t cuda_devices = 0;
  bool flush_denormal_supported = false;

  static RuntimeEnvironment detect();
  // "- key: value" lines, as the original's `transformers env`.
  std::vector<std::pair<std::string, std::string>> describe() const;
};

// Hints about this machine's set-up that cost speed (empty when there are none): OpenBLAS running a
// generic kernel on a CPU with AVX2/AVX-512, more threads than cores. Each names the fix.
std::vector<std::string> machine_performance_hints(const RuntimeEnvironment& env);

// While alive (the training loop), LibTorch's intra-op threads are raised to the physical cores
// this process may use when LibTorch chose fewer and OMP_NUM_THREADS is unset, and OpenBLAS then
// runs one thread (unless OPENBLAS_NUM_THREADS is set) so its spinning pool does not compete with
// LibTorch's. The previous settings are restored afterwards. Measured on a 2-core AMD EPYC VM
// where LibTorch chose 1 thread: the CNN 1.6x faster, the MLP unchanged (docs/performance.md).
//
// `processes_here` processes of one data-parallel job on this machine (LOCAL_WORLD_SIZE) share its
// cores: each takes physical cores / processes_here threads (at least one), fewer than LibTorch
// chose if need be, so that the ranks do not take turns on the same cores.
class CpuThreadsScope {
 public:
  explicit CpuThreadsScope(const RuntimeEnvironment& env, int64_t processes_here = 1);
  ~CpuThreadsScope();
  CpuThreadsScope(const CpuThreadsScope&) = delete;
  CpuThreadsScope& operator=(const CpuThreadsScope&) = delete;
  bool changed() const { return previous_threads_ > 0; }

 private:
  int previous_threads_ = 0;
  int previous_blas_threads_ = 0;
  void (*set_blas_threads_)(int) = nullptr;  // openblas_set_num_threads, when OpenBLAS is loaded
};

// What CpuThreadsScope will change on this machine, in words (empty when nothing): `trainer env`
// prints it, the Trainer logs it at info level once per process.
std::vector<std::string> thread_tuning_suggestions(const RuntimeEnvironment& env, bool omp_num_threads_set);

// The share of the optimizer's floating-point state (moments, buffers) that is subnormal. Reads
// every state tensor: call it once, never per step.
double subnormal_share_of_optimizer_state(const torch::optim::Optimizer& optimizer);

}  // namespace trainer
