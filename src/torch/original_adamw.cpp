#include "trainer/torch/original_adamw.h"

#include <cmath>
#include <memory>
#include <tuple>

#include <torch/torch.h>

#include "trainer/torch/optimizer_state.h"

namespace trainer {
namespace {

std::unique_ptr<torch::optim::AdamWParamState> fresh_state(const torch::Tensor& p, bool amsgrad) {
  auto st = std::make_unique<torch::optim::AdamWParamState>();
  st->step(0);
  st->exp_avg(torch::zeros_like(p, torch::MemoryFormat::Preserve));
  st->exp_avg_sq(torch::zeros_like(p, torch::MemoryFormat::Preserve));
  if (amsgrad) st->max_exp_avg_sq(torch::zeros_like(p, torch::MemoryFormat::Preserve));
  return st;
}

}  // namespace

torch::Tensor OriginalAdamW::step(LossClosure closure) {
  torch::NoGradGuard no_grad;
  torch::Tensor loss;
  if (closure) {
    torch::AutoGradMode enable_grad(true);
    loss = closure();
  }
  for (auto& group : param_groups()) {
    auto& o = static_cast<torch::optim::AdamWOptions&>(group.options());
    const double beta1 = std::get<0>(o.betas()), beta2 = std::get<1>(o.betas());
    for (auto& p : group.params()) {
      if (!p.grad().defined()) continue;
      const auto& grad = p.grad();
      auto& slot = state_[optimizer_state_key(p)];
      if (!slot) slot = fresh_state(p, o.amsgrad());
      auto& st = static_cast<torch::optim::AdamWParamState&>(*slot);
      st.step(st.step() + 1);
      if (o.weight_decay() != 0) p.mul_(1 - o.lr() * o.weight_decay());
      st.exp_avg().lerp_(grad, 1 - beta1);
      st.exp_avg_sq().mul_(beta2).addcmul_(grad, grad, 1 - beta2);
      // Python floats throughout, as the original computes them (`**` is pow, also for the root).
      const auto step = static_cast<double>(st.step());
      const double bias_correction1 = 1 - std::pow(beta1, step);
      const double bias_correction2 = 1 - std::pow(beta2, step);
      const double step_size = o.lr() / bias_correction1;
      const double bias_correction2_sqrt = std::pow(bias_correction2, 0.5);
      torch::Tensor denom;
      if (o.amsgrad()) {
        torch::maximum_out(st.max_exp_avg_sq(), st.max_exp_avg_sq(), st.exp_avg_sq());
        denom = (st.max_exp_avg_sq().sqrt() / bias_correction2_sqrt).add_(o.eps());
      } else {
        denom = (st.exp_avg_sq().sqrt() / bias_correction2_sqrt).add_(o.eps());
      }
      p.addcdiv_(st.exp_avg(), denom, -step_size);
    }
  }
  return loss;
}

}  // namespace trainer
