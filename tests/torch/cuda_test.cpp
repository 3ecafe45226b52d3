// The CUDA paths: training on a GPU, pinned host batches, autocast, the fused optimizers' device
// kernels, and NCCL. Every test needs a CUDA device; without one it is skipped with the reason,
// which ctest reports as skipped (never as passed). scripts/gpu-check.sh runs them on a GPU machine.

#include <gtest/gtest.h>

#include <future>

#include <torch/cuda.h>
#include <torch/torch.h>

#include "free_port.h"
#include "test_support.h"
#include "torch_test_support.h"
#include "trainer/callbacks/printer_callback.h"
#include "trainer/core/argument_spec.h"
#include "trainer/torch/device.h"
#include "trainer/torch/distributed/process_group.h"
#include "trainer/torch/fused_optimizers.h"
#include "trainer/torch/models.h"
#include "trainer/torch/trainer.h"

namespace trainer {
namespace {

using testing::blobs;
using testing::quiet_args;

class Cuda : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device here (torch::cuda::is_available() is false)";
  }
};

TEST_F(Cuda, TrainsOnTheGpuWithItsParametersThere) {
  testing::TempDir dir;
  auto args = quiet_args(dir.path());
  args.use_cpu = false;
  args.dataloader_pin_memory = true;
  auto model = make_builtin_model("mlp", 6, 3);
  Trainer t(model, args, blobs(512, 1), blobs(256, 2), {}, compute_accuracy);
  t.pop_callback<PrinterCallback>();
  const auto out = t.train();
  EXPECT_EQ(out.global_step, 64);
  for (const auto& [name, p] : model->named_parameters())
    EXPECT_TRUE(p.is_cuda()) << name << " stayed on " << p.device();
  EXPECT_GT(t.evaluate()["eval_accuracy"].get<double>(), 0.85);
}

TEST_F(Cuda, PinnedHostBatchesArriveOnTheDevice) {
  TensorDataLoader::Options options;
  options.batch_size = 4;
  options.device = torch::Device(torch::kCUDA, 0);
  options.pin_memory = true;
  TensorDataLoader loader(blobs(16, 3), options);
  loader.set_epoch(0);
  const auto batch = loader.batch(1);
  EXPECT_TRUE(batch.inputs.is_cuda());
  EXPECT_TRUE(batch.labels.is_cuda());
  EXPECT_TRUE(torch::equal(batch.inputs.cpu(), loader.dataset().inputs.slice(0, 4, 8)));
}

TEST_F(Cuda, AutocastRunsMatrixProductsInBfloat16AndFloat16) {
  const auto a = torch::randn({8, 8}, torch::TensorOptions().device(torch::kCUDA));
  for (const auto dtype : {at::kBFloat16, at::kHalf}) {
    {
      AutocastScope autocast(true, a.device(), dtype);
      EXPECT_EQ(torch::matmul(a, a).scalar_type(), dtype);
    }
    EXPECT_EQ(torch::matmul(a, a).scalar_type(), at::kFloat);  // restored
  }
}

// Five steps of the multi-tensor kernel against LibTorch's own AdamW, both on the GPU.
TEST_F(Cuda, FusedAdamWOnTheDeviceMatchesLibTorch) {
  torch::manual_seed(4);
  const auto options = torch::TensorOptions().device(torch::kCUDA);
  std::vector<torch::Tensor> start = {torch::randn({257, 33}, options), torch::randn({33}, options)};
  auto run = [&](auto make) {
    std::vector<torch::Tensor> params;
    for (const auto& s : start) params.push_back(s.clone().requires_grad_(true));
    auto optimizer = make(params);
    for (int step = 0; step < 5; ++step) {
      optimizer.zero_grad();
      (params[0].sum(1).pow(2).sum() + params[1].pow(3).sum()).backward();
      optimizer.step();
    }
    return params;
  };
  const auto adamw = torch::optim::AdamWOptions(1e-2).weight_decay(0.1);
  const auto fused = run([&](auto& p) { return FusedAdamW(p, adamw); });
  const auto reference = run([&](auto& p) { return torch::optim::AdamW(p, adamw); });
  for (size_t i = 0; i < fused.size(); ++i) {
    EXPECT_TRUE(fused[i].is_cuda());
    EXPECT_TRUE(torch::allclose(fused[i], reference[i], 1e-5, 1e-6)) << "parameter " << i;
  }
}

TEST_F(Cuda, NcclAllReducesAcrossTwoDevices) {
  if (torch::cuda::device_count() < 2)
    GTEST_SKIP() << "NCCL needs 2 CUDA devices here, and there is " << torch::cuda::device_count();
  const int port = test::free_tcp_port();
  auto run = [&](int64_t rank) {
    ProcessInfo p;
    p.rank = p.local_rank = rank;
    p.world_size = p.local_world_size = 2;
    p.master_addr = "127.0.0.1";
    p.master_port = port;
    const torch::Device device(torch::kCUDA, static_cast<c10::DeviceIndex>(rank));
    auto group = ProcessGroup::join(p, DdpBackend::nccl, std::chrono::seconds(60), device);
    auto t = torch::full({4}, static_cast<float>(rank + 1), torch::TensorOptions().device(device));
    group->all_reduce({t});
    return t.cpu();
  };
  auto one = std::async(std::launch::async, run, 1);
  const auto zero = run(0);
  EXPECT_TRUE(torch::equal(zero, torch::full({4}, 3.0f)));
  EXPECT_TRUE(torch::equal(one.get(), zero));
}

}  // namespace
}  // namespace trainer
