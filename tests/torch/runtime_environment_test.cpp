// The performance hints and the flush-to-zero scope of the training loop.

#include <gtest/gtest.h>

#include <cfloat>
#include <cstdlib>

#include <ATen/Parallel.h>

#include "test_support.h"
#include "torch_test_support.h"
#include "trainer/torch/runtime_environment.h"

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

TEST(CpuThreads, TrainingUsesThePhysicalCoresAndRestoresTheThreadCount) {
  testing::TempDir dir;
  const int before = at::get_num_threads();
  struct Probe : TrainerCallback {
    int threads = 0;
    void on_step_end(const Args&, TrainerState&, TrainerControl&, CallbackContext&) override { threads = at::get_num_threads(); }
  };
  auto probe = std::make_shared<Probe>();
  auto args = testing::quiet_args(dir.path());
  args.max_steps = 2;
  Trainer t(make_builtin_model("mlp", 6, 3), args, testing::blobs(32, 1), nullptr, {probe});
  t.train();
  const auto env = RuntimeEnvironment::detect();
  const bool raised = !std::getenv("OMP_NUM_THREADS") && env.physical_cores > before;
  EXPECT_EQ(probe->threads, raised ? env.physical_cores : before);
  EXPECT_EQ(at::get_num_threads(), before);
}

TEST(PerformanceHints, FewerThreadsThanCoresIsSaidUnlessTheUserChose) {
  const auto ideas = thread_tuning_suggestions(machine({}, "", 2, 1), false);
  ASSERT_EQ(ideas.size(), 1u);
  EXPECT_NE(ideas[0].find("the Trainer uses 2 while training"), std::string::npos) << ideas[0];
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
    void on_step_end(const Args&, TrainerState&, TrainerControl&, CallbackContext&) override { on_during_step = flush_denormal_enabled(); }
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
