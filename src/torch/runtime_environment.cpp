#include "trainer/torch/runtime_environment.h"

#include <dlfcn.h>
#include <sched.h>
#include <algorithm>

#include <cfloat>
#include <cstdlib>
#include <fstream>
#include <set>
#include <thread>

#include <ATen/Parallel.h>
#include <torch/cuda.h>
#include <torch/torch.h>
#include <torch/version.h>

#include "trainer/torch/distributed/process_group.h"

namespace trainer {
namespace {

// OpenBLAS's introspection, looked up at run time: LibTorch may be linked to another BLAS.
std::string openblas_string(const char* symbol) {
  using Getter = char* (*)();
  auto fn = reinterpret_cast<Getter>(dlsym(RTLD_DEFAULT, symbol));
  if (!fn) return "";
  const char* s = fn();
  std::string out = s ? s : "";
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

std::string cpu_model_name() {
  std::ifstream in("/proc/cpuinfo");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("model name", 0) != 0) continue;
    const auto colon = line.find(':');
    return colon == std::string::npos ? "" : line.substr(line.find_first_not_of(' ', colon + 1));
  }
  return "unknown";
}

int64_t usable_cores() {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof(set), &set) == 0) return CPU_COUNT(&set);
  return static_cast<int64_t>(std::thread::hardware_concurrency());
}

// Distinct (package, core) pairs among the CPUs this process may run on.
int64_t usable_physical_cores() {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof(set), &set) != 0) return 0;
  std::set<std::pair<std::string, std::string>> cores;
  for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
    if (!CPU_ISSET(cpu, &set)) continue;
    const std::string dir = "/sys/devices/system/cpu/cpu" + std::to_string(cpu) + "/topology/";
    std::string package, core;
    std::ifstream(dir + "physical_package_id") >> package;
    std::ifstream(dir + "core_id") >> core;
    if (core.empty()) return 0;  // no topology: unknown
    cores.emplace(package, core);
  }
  return static_cast<int64_t>(cores.size());
}

using BlasSetThreads = void (*)(int);
using BlasGetThreads = int (*)();

bool has(const RuntimeEnvironment& env, const std::string& ext) {
  for (const auto& e : env.cpu_vector_extensions)
    if (e == ext) return true;
  return false;
}

bool kernel_in(const std::string& kernel, std::initializer_list<const char*> names) {
  for (const char* n : names)
    if (kernel == n) return true;
  return false;
}

// "13.0" from 13000, as CUDA encodes its version (1000 * major + 10 * minor).
std::string cuda_version_text(long v) { return std::to_string(v / 1000) + "." + std::to_string(v % 1000 / 10); }
// "9.19.0" from 91900, as cuDNN 9 encodes it (10000 * major + 100 * minor + patch).
std::string cudnn_version_text(long v) {
  return std::to_string(v / 10000) + "." + std::to_string(v % 10000 / 100) + "." + std::to_string(v % 100);
}

// Asked of LibTorch's CUDA hooks, which libtorch_cuda registers when it is linked: no device needed.
void detect_cuda_build(RuntimeEnvironment& env) {
  env.cuda_build = at::globalContext().hasCUDART();
  if (!env.cuda_build) return;
  env.cuda_version = cuda_version_text(at::globalContext().versionCUDART());
  if (at::globalContext().hasCuDNN()) env.cudnn_version = cudnn_version_text(at::globalContext().versionCuDNN());
  env.nccl_version = linked_nccl_version();
}

}  // namespace

RuntimeEnvironment RuntimeEnvironment::detect() {
  RuntimeEnvironment env;
  env.trainer_version = TRAINER_VERSION;
  env.libtorch_version = TORCH_VERSION;
  env.cpu_model = cpu_model_name();
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx")) env.cpu_vector_extensions.push_back("avx");
  if (__builtin_cpu_supports("avx2")) env.cpu_vector_extensions.push_back("avx2");
  if (__builtin_cpu_supports("fma")) env.cpu_vector_extensions.push_back("fma");
  if (__builtin_cpu_supports("avx512f")) env.cpu_vector_extensions.push_back("avx512f");
  env.flush_denormal_supported = __builtin_cpu_supports("sse3");  // DAZ came with SSE3-era CPUs, as LibTorch checks
#endif
  env.cpu_cores = usable_cores();
  env.physical_cores = usable_physical_cores();
  env.intra_op_threads = at::get_num_threads();
  env.blas_config = openblas_string("openblas_get_config");
  env.blas_kernel = openblas_string("openblas_get_corename");
  env.cuda_devices = static_cast<int64_t>(torch::cuda::device_count());
  detect_cuda_build(env);
  return env;
}

std::vector<std::pair<std::string, std::string>> RuntimeEnvironment::describe() const {
  std::string extensions;
  for (const auto& e : cpu_vector_extensions) extensions += (extensions.empty() ? "" : " ") + e;
  return {
      {"trainer version", trainer_version},
      {"LibTorch version", libtorch_version},
      {"CPU", cpu_model + " (" + (extensions.empty() ? "no AVX" : extensions) + ")"},
      {"CPU cores usable", std::to_string(cpu_cores) + " (" + std::to_string(physical_cores) + " physical)"},
      {"LibTorch intra-op threads", std::to_string(intra_op_threads)},
      {"BLAS", !blas_config.empty() ? blas_config
               : at::hasMKL()       ? "MKL (built into LibTorch)"
                                    : "not OpenBLAS or MKL (or not found)"},
      {"OpenBLAS kernel", blas_kernel.empty() ? "n/a" : blas_kernel},
      {"CUDA build", cuda_build
                         ? "yes (CUDA " + cuda_version + ", cuDNN " + (cudnn_version.empty() ? "none" : cudnn_version) +
                               ", NCCL " + (nccl_version.empty() ? "none" : nccl_version) + ")"
                         : std::string("no")},
      {"CUDA devices", std::to_string(cuda_devices)},
      {"flush-to-zero supported", flush_denormal_supported ? "yes" : "no"},
  };
}

std::vector<std::string> machine_performance_hints(const RuntimeEnvironment& env) {
  std::vector<std::string> hints;
  const std::string& k = env.blas_kernel;
  if (!k.empty()) {
    const bool avx512_kernel = kernel_in(k, {"SkylakeX", "Cooperlake", "SapphireRapids"});
    const bool avx2_kernel = kernel_in(k, {"Haswell", "Zen"});
    const std::string runs = "OpenBLAS runs its " + k + " kernels on a CPU with ";
    const std::string why = " (it did not recognise the CPU, or OPENBLAS_CORETYPE chose them); ";
    // Measured (bench/openblas_kernels.sh, the plain LibTorch loop): on a 2-core Intel VM whose CPU
    // OpenBLAS 0.3.21 did not recognise, the MLP ran 1.6x faster with SkylakeX than with Prescott;
    // on an AMD EPYC, 1.5x faster with Zen than with Prescott; on an AMD EPYC with AVX-512, which
    // 0.3.21 runs as Haswell, 1.2-1.3x faster with SkylakeX (the CNN, mostly convolutions, alike).
    if (has(env, "avx512f") && avx2_kernel)
      hints.push_back(runs + "AVX-512" + why +
                      "OPENBLAS_CORETYPE=SkylakeX in the environment made matrix products of an MLP ~1.2x faster on "
                      "such a machine");
    else if (has(env, "avx512f") && !avx512_kernel)
      hints.push_back(
          runs + "AVX-512" + why +
          "OPENBLAS_CORETYPE=SkylakeX in the environment made matrix products ~1.6x faster on such a machine");
    else if (has(env, "avx2") && !avx2_kernel && !avx512_kernel)
      hints.push_back(runs + "AVX2" + why +
                      "set OPENBLAS_CORETYPE=Haswell in the environment for its AVX2 kernels (the MLP loop ran 1.5x "
                      "faster on an AMD EPYC "
                      "with them than with Prescott's)");
  }
  if (env.cpu_cores > 0 && env.intra_op_threads > env.cpu_cores)
    hints.push_back("LibTorch uses " + std::to_string(env.intra_op_threads) + " threads on " +
                    std::to_string(env.cpu_cores) +
                    " usable cores: the threads take turns instead of working; set OMP_NUM_THREADS=" +
                    std::to_string(env.cpu_cores));
  return hints;
}

CpuWorkload cpu_workload_of(const std::vector<torch::Tensor>& parameters) {
  for (const auto& p : parameters)
    if (p.defined() && p.dim() >= 3) return CpuWorkload::convolutions;
  return CpuWorkload::matrix_products;
}

CpuThreadLayout cpu_thread_layout(const RuntimeEnvironment& env, CpuWorkload workload, int64_t processes_here,
                                  bool user_chose) {
  if (user_chose) return {};
  const int share = static_cast<int>(std::max<int64_t>(1, env.physical_cores / std::max<int64_t>(processes_here, 1)));
  const int chosen = static_cast<int>(std::max<int64_t>(1, env.intra_op_threads));
  const bool convolutions = workload == CpuWorkload::convolutions;
  if (processes_here > 1)
    return convolutions ? CpuThreadLayout{share, 1} : CpuThreadLayout{std::min(chosen, share), share};
  if (convolutions && share > chosen) return {share, 1};
  return {};
}

CpuThreadsScope::CpuThreadsScope(const RuntimeEnvironment& env, CpuWorkload workload, int64_t processes_here) {
  const auto layout = cpu_thread_layout(env, workload, processes_here, std::getenv("OMP_NUM_THREADS") != nullptr);
  if (layout.libtorch_threads > 0 && layout.libtorch_threads != env.intra_op_threads) {
    previous_threads_ = static_cast<int>(env.intra_op_threads);
    at::set_num_threads(layout.libtorch_threads);
  }
  auto set_blas = reinterpret_cast<BlasSetThreads>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"));
  auto get_blas = reinterpret_cast<BlasGetThreads>(dlsym(RTLD_DEFAULT, "openblas_get_num_threads"));
  if (layout.blas_threads > 0 && set_blas && get_blas && !std::getenv("OPENBLAS_NUM_THREADS")) {
    previous_blas_threads_ = get_blas();
    if (previous_blas_threads_ == layout.blas_threads) return;
    set_blas_threads_ = set_blas;
    set_blas(layout.blas_threads);
  }
}

CpuThreadsScope::~CpuThreadsScope() {
  if (previous_threads_ > 0) at::set_num_threads(previous_threads_);
  if (set_blas_threads_) set_blas_threads_(previous_blas_threads_);
}

std::vector<std::string> thread_tuning_suggestions(const RuntimeEnvironment& env, bool omp_num_threads_set) {
  if (omp_num_threads_set || env.physical_cores <= env.intra_op_threads) return {};
  const std::string cores = std::to_string(env.physical_cores);
  return {
      "LibTorch chose " + std::to_string(env.intra_op_threads) + " intra-op thread(s) on " + cores +
      " physical cores; while training a model with convolutions the Trainer uses " + cores +
      ", with one OpenBLAS thread (a small CNN trained 1.5-1.7x faster so on two 2-core AMD EPYC VMs); a model of "
      "matrix products only (an MLP) keeps these, OpenBLAS's threads doing its work (the other way round, an MLP ran "
      "0.77-0.8x as fast on an AMD EPYC with AVX-512); OMP_NUM_THREADS set to any value chooses yourself (OpenBLAS "
      "reads it too)"};
}

double subnormal_share_of_optimizer_state(const torch::optim::Optimizer& optimizer) {
  torch::NoGradGuard no_grad;
  double subnormal = 0, total = 0;
  auto count = [&](const torch::Tensor& t) {
    if (!t.defined() || t.scalar_type() != torch::kFloat) return;
    const auto a = t.abs();
    subnormal += (a.lt(FLT_MIN) & a.gt(0)).sum().item<double>();
    total += static_cast<double>(t.numel());
  };
  for (const auto& [key, state] : optimizer.state()) {
    if (auto* s = dynamic_cast<const torch::optim::AdamWParamState*>(state.get())) {
      count(s->exp_avg());
      count(s->exp_avg_sq());
    } else if (auto* a = dynamic_cast<const torch::optim::AdamParamState*>(state.get())) {
      count(a->exp_avg());
      count(a->exp_avg_sq());
    } else if (auto* g = dynamic_cast<const torch::optim::SGDParamState*>(state.get())) {
      count(g->momentum_buffer());
    }
  }
  return total > 0 ? subnormal / total : 0.0;
}

}  // namespace trainer
