// The fused optimizers against torch.optim (golden trajectories from tests/golden/make_golden.py)
// and against LibTorch's own optimizers, and the one-pass gradient clipping.

#include "trainer/torch/fused_optimizers.h"
#include "trainer/torch/original_adamw.h"

#include <gtest/gtest.h>

#include <torch/torch.h>

#include "test_support.h"
#include "trainer/core/json.h"

namespace trainer {
namespace {

std::unique_ptr<torch::optim::Optimizer> make(const std::string& name, const Json& kw, torch::Tensor p, bool fused) {
  std::vector<torch::Tensor> params = {p};
  const double lr = kw.at("lr").get<double>();
  const double wd = kw.value("weight_decay", 0.0);
  if (name == "sgd") {
    torch::optim::SGDOptions o(lr);
    o.momentum(kw.value("momentum", 0.0))
        .dampening(kw.value("dampening", 0.0))
        .nesterov(kw.value("nesterov", false))
        .weight_decay(wd);
    if (fused) return std::make_unique<FusedSGD>(params, o);
    return std::make_unique<torch::optim::SGD>(params, o);
  }
  const auto betas = kw.contains("betas") ? std::make_tuple(kw["betas"][0].get<double>(), kw["betas"][1].get<double>())
                                          : std::make_tuple(0.9, 0.999);
  const double eps = kw.value("eps", 1e-8);
  const bool amsgrad = kw.value("amsgrad", false);
  if (name == "adamw") {
    // torch.optim.AdamW's default weight decay is 0.01; the fixture states it explicitly.
    torch::optim::AdamWOptions o(lr);
    o.betas(betas).eps(eps).weight_decay(wd).amsgrad(amsgrad);
    if (fused) return std::make_unique<FusedAdamW>(params, o);
    return std::make_unique<torch::optim::AdamW>(params, o);
  }
  torch::optim::AdamOptions o(lr);
  o.betas(betas).eps(eps).weight_decay(wd).amsgrad(amsgrad);
  if (fused) return std::make_unique<FusedAdam>(params, o);
  return std::make_unique<torch::optim::Adam>(params, o);
}

TEST(FusedOptimizers, MatchTorchOptimOver100Steps) {
  const Json g = read_json_file(testing::golden("optimizers.json"));
  const auto p0 = torch::tensor(g["p0"].get<std::vector<float>>());
  const auto target = torch::tensor(g["target"].get<std::vector<float>>());
  ASSERT_EQ(g["cases"].size(), 8u);
  for (const auto& c : g["cases"]) {
    const std::string what = c["optimizer"].get<std::string>() + " " + dump_json(c["kwargs"], {-1});
    auto p = p0.clone().set_requires_grad(true);
    auto opt = make(c["optimizer"], c["kwargs"], p, /*fused=*/true);
    for (int step = 1; step <= 100; ++step) {
      {
        torch::NoGradGuard no_grad;
        p.mutable_grad() = 2 * (p.detach() - target);
      }
      opt->step();
      const auto key = std::to_string(step);
      if (!c["trajectory"].contains(key)) continue;
      const auto want = torch::tensor(c["trajectory"][key].get<std::vector<float>>());
      // Relative to the size of the parameter vector (elementwise ratios blow up where a parameter
      // crosses zero), and every element within 1e-6 absolute of values of order one.
      const double rel = ((p.detach() - want).norm() / want.norm()).item<double>();
      const double abs_err = (p.detach() - want).abs().max().item<double>();
      EXPECT_LT(rel, 1e-6) << what << " step " << step;
      EXPECT_LT(abs_err, 1e-6) << what << " step " << step;
    }
  }
}

// --optim adamw_torch: torch.optim.AdamW's own update, equal to its trajectory to the last bit.
TEST(OriginalAdamW, IsTorchOptimAdamWBitForBit) {
  const Json g = read_json_file(testing::golden("optimizers.json"));
  const auto p0 = torch::tensor(g["p0"].get<std::vector<float>>());
  const auto target = torch::tensor(g["target"].get<std::vector<float>>());
  int cases = 0;
  for (const auto& c : g["cases"]) {
    if (c["optimizer"] != "adamw") continue;
    ++cases;
    const Json& kw = c["kwargs"];
    auto p = p0.clone().set_requires_grad(true);
    torch::optim::AdamWOptions o(kw.at("lr").get<double>());
    o.weight_decay(kw.value("weight_decay", 0.0)).eps(kw.value("eps", 1e-8)).amsgrad(kw.value("amsgrad", false));
    if (kw.contains("betas")) o.betas({kw["betas"][0].get<double>(), kw["betas"][1].get<double>()});
    OriginalAdamW opt({p}, o);
    for (int step = 1; step <= 100; ++step) {
      {
        torch::NoGradGuard no_grad;
        p.mutable_grad() = 2 * (p.detach() - target);
      }
      opt.step();
      const auto key = std::to_string(step);
      if (!c["trajectory"].contains(key)) continue;
      const auto want = torch::tensor(c["trajectory"][key].get<std::vector<float>>());
      EXPECT_TRUE(torch::equal(p.detach(), want)) << dump_json(kw, {-1}) << " step " << step;
    }
  }
  EXPECT_GE(cases, 2);
}

TEST(FusedOptimizers, AgreeWithLibTorchOnALargeTensorAcrossThreads) {
  torch::manual_seed(11);  // a failure reproduces with the same values
  for (const std::string name : {"adamw", "adam", "sgd"}) {
    const Json kw = name == "sgd" ? Json{{"lr", 0.01}, {"momentum", 0.9}, {"weight_decay", 0.01}}
                                  : Json{{"lr", 1e-3}, {"weight_decay", 0.01}, {"amsgrad", name == "adam"}};
    auto a = torch::randn({1000003});
    auto b = a.clone();
    a.set_requires_grad(true);
    b.set_requires_grad(true);
    auto fused = make(name, kw, a, true);
    auto ref = make(name, kw, b, false);
    for (int step = 0; step < 5; ++step) {
      auto grad = torch::randn({1000003});
      a.mutable_grad() = grad.clone();
      b.mutable_grad() = grad.clone();
      fused->step();
      ref->step();
    }
    // LibTorch's reference runs CPU-specific vector kernels (AVX2, AVX-512), so its rounding changes
    // with the machine: each of the five steps may round the parameter differently by an ulp. With
    // amsgrad, about one run in twenty (of random values) had one element of the million off by
    // 1.2e-6 to 2.2e-6 (20-35 ulps near 1) on an AMD EPYC with AVX-512. The bound is an absolute
    // 1e-5 plus eight ulps of each element: a wrong update is off by about the learning rate, 1e-3.
    const auto diff = (a - b).abs();
    EXPECT_TRUE(torch::allclose(a, b, /*rtol=*/1e-6, /*atol=*/1e-5))
        << name << ": largest difference " << diff.max().item<double>() << " at |value| "
        << b.abs().flatten()[diff.argmax()].item<double>();
    // The same state objects, so checkpoints see no difference.
    EXPECT_EQ(fused->state().size(), ref->state().size()) << name;
  }
}

TEST(FusedOptimizers, FallBackForTensorsTheyDoNotFuse) {
  auto p = torch::randn({10}, torch::kDouble).set_requires_grad(true);
  FusedAdamW opt({p}, torch::optim::AdamWOptions(0.1));
  p.mutable_grad() = torch::ones({10}, torch::kDouble);
  auto before = p.detach().clone();
  opt.step();
  EXPECT_FALSE(torch::equal(before, p.detach()));
}

// The original's clipping (torch.nn.utils.clip_grad_norm_), so that training matches it bit for bit.
TEST(ClipGradNorm, IsTorchsClipGradNormBitForBit) {
  std::vector<torch::Tensor> grads = {torch::randn({1000}), torch::randn({77, 3}), torch::randn({300001})};
  std::vector<torch::Tensor> parameters;
  double sq = 0;
  for (auto& g : grads) {
    auto p = torch::zeros_like(g).requires_grad_(true);
    p.mutable_grad() = g.clone();
    parameters.push_back(p);
    sq += g.to(torch::kDouble).pow(2).sum().item<double>();
  }
  const double expected = torch::nn::utils::clip_grad_norm_(parameters, 1.0);
  auto total = clip_grad_norm_fused(grads, 1.0);
  EXPECT_EQ(total.item<double>(), expected);
  for (size_t i = 0; i < grads.size(); ++i) EXPECT_TRUE(torch::equal(grads[i], parameters[i].grad()));
  // Float32 sums, as the original's: near the exact norm, and the clipped norm near 1.
  const double norm = std::sqrt(sq);
  EXPECT_NEAR(total.item<double>(), norm, norm * 1e-5);
  double after = 0;
  for (auto& g : grads) after += g.to(torch::kDouble).pow(2).sum().item<double>();
  EXPECT_NEAR(std::sqrt(after), 1.0, 1e-5);
  // Below the limit nothing changes.
  auto small = std::vector<torch::Tensor>{torch::full({4}, 0.1f)};
  auto kept = small[0].clone();
  clip_grad_norm_fused(small, 10.0);
  EXPECT_TRUE(torch::equal(small[0], kept));
}

}  // namespace
}  // namespace trainer
