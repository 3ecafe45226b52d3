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
  bool cuda_build = false;    // LibTorch was built with CUDA (libtorch_cuda is linked)
  std::string cuda_version;   // the CUDA runtime it was built with ("13.0"), empty without CUDA
  std::string cudnn_version;  // the cuDNN it was built with ("9.19.0"), empty without
  std::string nccl_version;   // the NCCL in the link ("2.28.9"), empty without
  bool flush_denormal_supported = false;

  static RuntimeEnvironment detect();
  // "- key: value" lines, as the original's `transformers env`.
  std::vector<std::pair<std::string, std::string>> describe() const;
};

// Hints about this machine's set-up that cost speed (empty when there are none): OpenBLAS running a
// generic kernel on a CPU with AVX2/AVX-512, more threads than cores. Each names the fix.
std::vector<std::string> machine_performance_hints(const RuntimeEnvironment& env);

// Where a model's CPU time goes, judged from its parameters' shapes: it decides who gets the cores
// while training (LibTorch's threads or OpenBLAS's). Deterministic, so a resumed run on the same
// machine runs the same threads (and sums in the same order) as the run it continues.
enum class CpuWorkload {
  matrix_products,  // vectors and matrices only (Linear, Embedding, norms): OpenBLAS's threaded sgemm
  convolutions,     // a parameter of 3 or more dimensions, a convolution's kernel: LibTorch's threads
};
CpuWorkload cpu_workload_of(const std::vector<torch::Tensor>& parameters);

// The threads a training run gets: 0 leaves a pool as the process has it.
struct CpuThreadLayout {
  int libtorch_threads = 0;
  int blas_threads = 0;
};

// The choice, pure (no environment read): with `user_chose` (OMP_NUM_THREADS set) nothing changes.
// One process on the machine:
//   - convolutions, when LibTorch chose fewer threads than the physical cores: LibTorch gets the
//     cores and OpenBLAS one thread, so its spinning pool does not compete with LibTorch's (a small
//     CNN 1.5-1.7x faster on two 2-core AMD EPYC VMs);
//   - matrix products: nothing changes; OpenBLAS's threads do the work (on the AVX-512 EPYC, 2
//     LibTorch threads and 1 OpenBLAS thread made the MLP 0.77-0.8x as fast).
// `processes_here` processes of one data-parallel job on this machine (LOCAL_WORLD_SIZE) share its
// cores: each takes physical cores / processes_here (at least one) for the pool that does its work,
// and the other pool at most as many, so that the ranks do not take turns on the same cores.
CpuThreadLayout cpu_thread_layout(const RuntimeEnvironment& env, CpuWorkload workload, int64_t processes_here,
                                  bool user_chose);

// While alive (the training loop), applies cpu_thread_layout (OMP_NUM_THREADS set: nothing;
// OPENBLAS_NUM_THREADS set: OpenBLAS's threads are left alone) and restores the previous settings
// afterwards (docs/performance.md).
class CpuThreadsScope {
 public:
  CpuThreadsScope(const RuntimeEnvironment& env, CpuWorkload workload, int64_t processes_here = 1);
  ~CpuThreadsScope();
  CpuThreadsScope(const CpuThreadsScope&) = delete;
  CpuThreadsScope& operator=(const CpuThreadsScope&) = delete;

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
