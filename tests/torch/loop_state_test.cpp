// The loop's loss accumulators: the CPU's host arithmetic against the tensor operations a device uses.

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include <torch/torch.h>

#include "trainer/torch/loop_state.h"

namespace trainer {
namespace {

// Adds `losses` as float32 scalars (the CPU's host path) and as float64 ones (the tensor path, as
// on a device) and returns both states' accumulators.
std::pair<LoopState::Accumulated, LoopState::Accumulated> both_paths(const std::vector<double>& losses, bool filter) {
  auto host = LoopState::start(torch::kCPU, 0), tensors = LoopState::start(torch::kCPU, 0);
  int64_t steps = 0;
  for (double loss : losses) {
    ++steps;
    host.add_loss(torch::tensor(static_cast<float>(loss)), filter, steps);
    tensors.add_loss(torch::tensor(loss, torch::kDouble), filter, steps);
  }
  return {host.read_accumulators(), tensors.read_accumulators()};
}

const double kNaN = std::numeric_limits<double>::quiet_NaN();
const double kInf = std::numeric_limits<double>::infinity();

TEST(LoopState, TheNanInfFilterReplacesABadLossByTheRunningMeanOnBothPaths) {
  const auto [host, tensors] = both_paths({1.5, kNaN, 2.25, kInf, 0.1}, true);
  // 1.5, then 1.5 + 1.5/2 = 2.25, then 4.5, then 4.5 + 4.5/4 = 5.625, then 5.725 (in float32).
  EXPECT_FLOAT_EQ(host.tr_loss, 5.725f);
  EXPECT_EQ(host.tr_loss, tensors.tr_loss);  // the same float32 operations
  EXPECT_EQ(host.nonfinite, 2);
  EXPECT_EQ(tensors.nonfinite, 2);
}

TEST(LoopState, WithoutTheFilterABadLossPoisonsTheSumOnBothPaths) {
  const auto [host, tensors] = both_paths({1.5, kNaN, 2.0}, false);
  EXPECT_TRUE(std::isnan(host.tr_loss));
  EXPECT_TRUE(std::isnan(tensors.tr_loss));
  EXPECT_EQ(host.nonfinite, 1);
  EXPECT_EQ(tensors.nonfinite, 1);
  const auto [fine, fine_tensors] = both_paths({0.3, 0.7, 1e-3}, false);
  EXPECT_EQ(fine.tr_loss, fine_tensors.tr_loss);
  EXPECT_EQ(fine.nonfinite, 0);
}

}  // namespace
}  // namespace trainer
