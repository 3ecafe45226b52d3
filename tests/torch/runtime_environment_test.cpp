// The performance hints and the flush-to-zero scope of the training loop.

#include <gtest/gtest.h>

#include <cfloat>
#include <cstdlib>

#include <dlfcn.h>

#include <ATen/Parallel.h>

#include "test_support.h"
#include "torch_test_support.h"
#include "trainer/core/trainer_state.h"
#include "trainer/torch/device.h"
#include "trainer/torch/models.h"
#include "trainer/torch/runtime_environment.h"
#include "trainer/torch/trainer.h"

namespace trainer {
namespace {

RuntimeEnvironment machine(std::vector<std::string> extensions, std::string kernel, int64_t cores, int64_t threads) {
  RuntimeEnvironment env;
  env.cpu_vector_extensions = std::move(extensions);
  env.blas_kernel = std::move(kernel);
  env.cpu_cores = cores;
  env.physical_cores = cores;
  env.intra_op_threads = threads;
  return env;
}

TEST(PerformanceHints, AGenericOpenBlasKernelOnAVectorCpuNamesTheVariable) {
  const auto avx512 = machine_performance_hints(machine({"avx2", "avx512f"}, "Prescott", 2, 2));
  ASSERT_EQ(avx512.size(), 1u);
  EXPECT_NE(avx512[0].find("OPENBLAS_CORETYPE=SkylakeX"), std::string::npos) << avx512[0];
  const auto avx2 = machine_performance_hints(machine({"avx2"}, "Sandybridge", 2, 2));
  ASSERT_EQ(avx2.size(), 1u);
  EXPECT_NE(avx2[0].find("OPENBLAS_CORETYPE=Haswell"), std::string::npos) << avx2[0];
  EXPECT_TRUE(machine_performance_hints(machine({"avx2"}, "Zen", 2, 2)).empty());
  EXPECT_TRUE(machine_performance_hints(machine({"avx2", "avx512f"}, "SkylakeX", 2, 2)).empty());
  // AVX2 kernels on an AVX-512 CPU: SkylakeX's measured ~1.2x faster on an MLP (an AMD EPYC).
  const auto haswell = machine_performance_hints(machine({"avx2", "avx512f"}, "Haswell", 2, 2));
  ASSERT_EQ(haswell.size(), 1u);
  EXPECT_NE(haswell[0].find("OPENBLAS_CORETYPE=SkylakeX"), std::string::npos) << haswell[0];
  EXPECT_NE(haswell[0].find("~1.2x"), std::string::npos) << haswell[0];
  EXPECT_TRUE(machine_performance_hints(machine({}, "Prescott", 2, 2)).empty());  // nothing better to run
  EXPECT_TRUE(machine_performance_hints(machine({"avx2"}, "", 2, 2)).empty());    // not OpenBLAS
}

TEST(PerformanceHints, MoreThreadsThanCoresNamesTheCount) {
  const auto hints = machine_performance_hints(machine({}, "", 2, 8));
  ASSERT_EQ(hints.size(), 1u);
  EXPECT_NE(hints[0].find("OMP_NUM_THREADS=2"), std::string::npos) << hints[0];
}

std::vector<torch::Tensor> parameters_of(const std::shared_ptr<Model>& model) {
  std::vector<torch::Tensor> out;
  for (auto& [name, p] : model->named_parameters()) out.push_back(p);
  return out;
}

TEST(CpuThreads, AModelsWorkloadIsJudgedFromItsParameterShapes) {
  EXPECT_EQ(cpu_workload_of(parameters_of(make_builtin_model("mlp", 6, 3))), CpuWorkload::matrix_products);
  EXPECT_EQ(cpu_workload_of(parameters_of(make_builtin_model("cnn", 100, 3))), CpuWorkload::convolutions);
  EXPECT_EQ(cpu_workload_of({}), CpuWorkload::matrix_products);
}

void expect_layout(const CpuThreadLayout& got, int libtorch, int blas, const char* what) {
  EXPECT_EQ(got.libtorch_threads, libtorch) << what;
  EXPECT_EQ(got.blas_threads, blas) << what;
}

TEST(CpuThreads, TheCoresGoToThePoolThatDoesTheModelsWork) {
  const auto conv = CpuWorkload::convolutions, mm = CpuWorkload::matrix_products;
  const auto two_cores_one_thread = machine({}, "", 2, 1);
  expect_layout(cpu_thread_layout(two_cores_one_thread, conv, 1, false), 2, 1,
                "a CNN: LibTorch's threads, one OpenBLAS thread");
  expect_layout(cpu_thread_layout(two_cores_one_thread, mm, 1, false), 0, 0, "an MLP: as the process has it");
  expect_layout(cpu_thread_layout(two_cores_one_thread, conv, 1, true), 0, 0, "OMP_NUM_THREADS set: the user's choice");
  expect_layout(cpu_thread_layout(machine({}, "", 2, 2), conv, 1, false), 0, 0, "LibTorch already has the cores");
  // Two ranks on two cores: one core each, whichever pool works.
  expect_layout(cpu_thread_layout(two_cores_one_thread, conv, 2, false), 1, 1, "2 ranks, CNN");
  expect_layout(cpu_thread_layout(two_cores_one_thread, mm, 2, false), 1, 1, "2 ranks, MLP");
  // Four ranks on 16 cores where LibTorch chose all 16: four each for the working pool.
  const auto sixteen = machine({}, "", 16, 16);
  expect_layout(cpu_thread_layout(sixteen, conv, 4, false), 4, 1, "4 ranks, CNN");
  expect_layout(cpu_thread_layout(sixteen, mm, 4, false), 4, 4, "4 ranks, MLP");
  expect_layout(cpu_thread_layout(machine({}, "", 0, 1), conv, 1, false), 0, 0, "cores unknown");
}

int openblas_threads() {
  auto get = reinterpret_cast<int (*)()>(dlsym(RTLD_DEFAULT, "openblas_get_num_threads"));
  return get ? get() : 0;
}

struct ThreadProbe : TrainerCallback {
  int threads = 0, blas_threads = 0;
  void on_step_end(const Args&, TrainerState&, TrainerControl&, CallbackContext&) override {
    threads = at::get_num_threads();
    blas_threads = openblas_threads();
  }
};

// Trains two steps with `model` on random data of `features` and returns what the probe saw.
ThreadProbe threads_while_training(std::shared_ptr<Model> model, int64_t features) {
  testing::TempDir dir;
  auto probe = std::make_shared<ThreadProbe>();
  auto args = testing::quiet_args(dir.path());
  args.max_steps = 2;
  auto data = std::make_shared<TensorDataset>(torch::randn({32, features}), torch::randint(0, 3, {32}));
  Trainer t(std::move(model), args, data, nullptr, {probe});
  t.train();
  return *probe;
}

TEST(CpuThreads, TrainingACnnGivesLibTorchTheCoresAndRestoresBothPools) {
  const int before = at::get_num_threads(), blas_before = openblas_threads();
  const auto seen = threads_while_training(make_builtin_model("cnn", 100, 3), 100);
  const auto env = RuntimeEnvironment::detect();
  const auto layout = cpu_thread_layout(env, CpuWorkload::convolutions, 1, std::getenv("OMP_NUM_THREADS") != nullptr);
  EXPECT_EQ(seen.threads, layout.libtorch_threads > 0 ? layout.libtorch_threads : before);
  if (blas_before > 0 && !std::getenv("OPENBLAS_NUM_THREADS"))
    EXPECT_EQ(seen.blas_threads, layout.blas_threads > 0 ? layout.blas_threads : blas_before);
  EXPECT_EQ(at::get_num_threads(), before);
  EXPECT_EQ(openblas_threads(), blas_before);
}

TEST(CpuThreads, TrainingAnMlpLeavesBothPoolsAsTheProcessHasThem) {
  const int before = at::get_num_threads(), blas_before = openblas_threads();
  const auto seen = threads_while_training(make_builtin_model("mlp", 6, 3), 6);
  EXPECT_EQ(seen.threads, before);
  EXPECT_EQ(seen.blas_threads, blas_before);
}

TEST(PerformanceHints, FewerThreadsThanCoresIsSaidUnlessTheUserChose) {
  const auto ideas = thread_tuning_suggestions(machine({}, "", 2, 1), false);
  ASSERT_EQ(ideas.size(), 1u);
  EXPECT_NE(ideas[0].find("with convolutions the Trainer uses 2"), std::string::npos) << ideas[0];
  EXPECT_TRUE(thread_tuning_suggestions(machine({}, "", 2, 1), true).empty());
  EXPECT_TRUE(thread_tuning_suggestions(machine({}, "", 2, 2), false).empty());
}

TEST(PerformanceHints, DetectDescribesThisMachine) {
  const auto env = RuntimeEnvironment::detect();
  EXPECT_GE(env.cpu_cores, 1);
  EXPECT_GE(env.intra_op_threads, 1);
  const auto lines = env.describe();
  ASSERT_FALSE(lines.empty());
  EXPECT_EQ(lines[1].second, TORCH_VERSION);
}

TEST(PerformanceHints, SubnormalOptimizerStateIsCountedAndReportedWithoutFlushToZero) {
  auto p = torch::ones({100}, torch::requires_grad());
  torch::optim::AdamW opt({p}, torch::optim::AdamWOptions(1e-3));
  p.mutable_grad() = torch::ones({100});
  opt.step();
  auto& state = static_cast<torch::optim::AdamWParamState&>(*opt.state().begin()->second);
  state.exp_avg().slice(0, 0, 50).fill_(FLT_MIN / 4);  // half of one of two tensors: a quarter
  EXPECT_DOUBLE_EQ(subnormal_share_of_optimizer_state(opt), 0.25);
}

TEST(FlushToZero, TrainingTurnsItOnAndRestoresTheCallersSetting) {
  testing::TempDir dir;
  set_flush_denormal(false);
  struct Probe : TrainerCallback {
    bool on_during_step = false;
    void on_step_end(const Args&, TrainerState&, TrainerControl&, CallbackContext&) override {
      on_during_step = flush_denormal_enabled();
    }
  };
  auto probe = std::make_shared<Probe>();
  auto args = testing::quiet_args(dir.path());
  args.max_steps = 2;
  Trainer t(make_builtin_model("mlp", 6, 3), args, testing::blobs(32, 1), nullptr, {probe});
  t.train();
  EXPECT_TRUE(probe->on_during_step);
  EXPECT_FALSE(flush_denormal_enabled());
  // With false the loop keeps PyTorch's exact numerics.
  args.flush_denormal = false;
  Trainer exact(make_builtin_model("mlp", 6, 3), args, testing::blobs(32, 1), nullptr, {probe});
  exact.train();
  EXPECT_FALSE(probe->on_during_step);
}

}  // namespace
}  // namespace trainer
