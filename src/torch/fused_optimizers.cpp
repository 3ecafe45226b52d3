#include "trainer/torch/fused_optimizers.h"

#include <ATen/Parallel.h>
#include <torch/torch.h>

#include <cmath>
#include <map>
#include <optional>
#include <type_traits>
#include <utility>

#include "trainer/torch/optimizer_state.h"

namespace trainer {
namespace {

// Elements per task: large enough that thread hand-off is noise, small enough to split 1M-element
// tensors across cores.
constexpr int64_t kGrain = 32768;

using ParamStates = std::remove_reference_t<decltype(std::declval<torch::optim::Optimizer&>().state())>;

bool fusable(const torch::Tensor& p) {
  return p.device().is_cpu() && p.scalar_type() == torch::kFloat && p.is_contiguous() && p.grad().defined() &&
         p.grad().is_contiguous() && p.grad().scalar_type() == torch::kFloat;
}

template <typename Options>
bool all_fusable(const std::vector<torch::optim::OptimizerParamGroup>& groups) {
  for (const auto& g : groups)
    for (const auto& p : g.params())
      if (p.grad().defined() && !fusable(p)) return false;
  return true;
}

// The update of the original's AdamW/Adam in one pass. Scalars are float, as LibTorch applies them
// to float tensors, and the operations keep its order so results agree to rounding.
// Scalars derived from the options are computed in double and rounded once, as LibTorch's do.
struct AdamKernel {
  float beta1, beta2, one_minus_b1, one_minus_b2, eps, weight_decay, decay, bias_correction2_sqrt, step_size;
  bool decoupled, amsgrad;
};

// The update of the original's AdamW/Adam in one pass, keeping LibTorch's order of operations so
// results agree to rounding. It runs at memory bandwidth (docs/performance.md): wider vectors
// (an AVX2 build of it) measured no faster on the reference machine.
void adam_update(const AdamKernel& k, float* p, const float* g, float* m, float* v, float* vmax, int64_t begin,
                 int64_t end) {
  if (k.amsgrad) {
    for (int64_t i = begin; i < end; ++i) {
      float grad = k.decoupled ? g[i] : g[i] + k.weight_decay * p[i];
      float param = k.decoupled ? p[i] * k.decay : p[i];
      float mi = m[i] * k.beta1 + grad * k.one_minus_b1;
      float vi = v[i] * k.beta2 + k.one_minus_b2 * grad * grad;
      float vm = vmax[i] > vi ? vmax[i] : vi;
      m[i] = mi;
      v[i] = vi;
      vmax[i] = vm;
      p[i] = param - k.step_size * (mi / (std::sqrt(vm) / k.bias_correction2_sqrt + k.eps));
    }
  } else if (k.decoupled) {
    for (int64_t i = begin; i < end; ++i) {
      float param = p[i] * k.decay;
      float mi = m[i] * k.beta1 + g[i] * k.one_minus_b1;
      float vi = v[i] * k.beta2 + k.one_minus_b2 * g[i] * g[i];
      m[i] = mi;
      v[i] = vi;
      p[i] = param - k.step_size * (mi / (std::sqrt(vi) / k.bias_correction2_sqrt + k.eps));
    }
  } else {
    for (int64_t i = begin; i < end; ++i) {
      float grad = g[i] + k.weight_decay * p[i];
      float mi = m[i] * k.beta1 + grad * k.one_minus_b1;
      float vi = v[i] * k.beta2 + k.one_minus_b2 * grad * grad;
      m[i] = mi;
      v[i] = vi;
      p[i] = p[i] - k.step_size * (mi / (std::sqrt(vi) / k.bias_correction2_sqrt + k.eps));
    }
  }
}

template <typename State>
State& adam_state(ParamStates& states, const torch::Tensor& p, bool amsgrad) {
  auto& slot = states[optimizer_state_key(p)];
  if (!slot) {
    auto st = std::make_unique<State>();
    st->step(0);
    st->exp_avg(torch::zeros_like(p, torch::MemoryFormat::Preserve));
    st->exp_avg_sq(torch::zeros_like(p, torch::MemoryFormat::Preserve));
    if (amsgrad) st->max_exp_avg_sq(torch::zeros_like(p, torch::MemoryFormat::Preserve));
    slot = std::move(st);
  }
  return static_cast<State&>(*slot);
}

template <typename State, typename Options>
void adam_step(std::vector<torch::optim::OptimizerParamGroup>& groups, ParamStates& states, bool decoupled) {
  for (auto& group : groups) {
    auto& o = static_cast<Options&>(group.options());
    for (auto& p : group.params()) {
      if (!p.grad().defined()) continue;
      auto& st = adam_state<State>(states, p, o.amsgrad());
      st.step(st.step() + 1);
      const double bc1 = 1 - std::pow(std::get<0>(o.betas()), st.step());
      const double bc2 = 1 - std::pow(std::get<1>(o.betas()), st.step());
      const double b1 = std::get<0>(o.betas()), b2 = std::get<1>(o.betas());
      AdamKernel k{static_cast<float>(b1),
                   static_cast<float>(b2),
                   static_cast<float>(1 - b1),
                   static_cast<float>(1 - b2),
                   static_cast<float>(o.eps()),
                   static_cast<float>(o.weight_decay()),
                   static_cast<float>(1 - o.lr() * o.weight_decay()),
                   static_cast<float>(std::sqrt(bc2)),
                   static_cast<float>(o.lr() / bc1),
                   decoupled,
                   o.amsgrad()};
      float* pd = p.data_ptr<float>();
      const float* gd = p.grad().data_ptr<float>();
      float* m = st.exp_avg().template data_ptr<float>();
      float* v = st.exp_avg_sq().template data_ptr<float>();
      float* vmax = o.amsgrad() ? st.max_exp_avg_sq().template data_ptr<float>() : nullptr;
      at::parallel_for(0, p.numel(), kGrain, [&](int64_t b, int64_t e) { adam_update(k, pd, gd, m, v, vmax, b, e); });
    }
  }
}

// On CUDA, PyTorch's own multi-tensor kernels (what torch.optim.AdamW(fused=True) runs) update a
// whole group in a few launches. Parameters must share one device and a floating type with their
// gradients; everything else takes LibTorch's per-parameter update.
bool on_one_cuda_device(const std::vector<torch::optim::OptimizerParamGroup>& groups) {
  std::optional<torch::Device> device;
  for (const auto& g : groups)
    for (const auto& p : g.params()) {
      if (!p.grad().defined()) continue;
      if (!p.is_cuda() || !p.is_floating_point() || p.grad().scalar_type() != p.scalar_type() || p.grad().is_sparse())
        return false;
      if (device && *device != p.device()) return false;
      device = p.device();
    }
  return device.has_value();
}

// The kernels read the step count from a device tensor (a fill kernel writes it: no host sync);
// parameters at the same count share one.
torch::Tensor step_tensor(std::map<int64_t, torch::Tensor>& made, int64_t step, const torch::Device& device) {
  auto& t = made[step];
  if (!t.defined())
    t = torch::full({}, static_cast<double>(step), torch::TensorOptions().dtype(torch::kFloat).device(device));
  return t;
}

template <typename State, typename Options>
void adam_step_multi_tensor(std::vector<torch::optim::OptimizerParamGroup>& groups, ParamStates& states,
                            bool decoupled) {
  for (auto& group : groups) {
    auto& o = static_cast<Options&>(group.options());
    std::vector<torch::Tensor> params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs, steps;
    std::map<int64_t, torch::Tensor> step_tensors;
    for (auto& p : group.params()) {
      if (!p.grad().defined()) continue;
      auto& st = adam_state<State>(states, p, o.amsgrad());
      st.step(st.step() + 1);  // kept on the host too: checkpoints read it from the state object
      params.push_back(p);
      grads.push_back(p.grad());
      exp_avgs.push_back(st.exp_avg());
      exp_avg_sqs.push_back(st.exp_avg_sq());
      if (o.amsgrad()) max_exp_avg_sqs.push_back(st.max_exp_avg_sq());
      steps.push_back(step_tensor(step_tensors, st.step(), p.device()));
    }
    if (params.empty()) continue;
    const auto [beta1, beta2] = o.betas();
    if (decoupled)
      at::_fused_adamw_(params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs, steps, o.lr(), beta1, beta2,
                        o.weight_decay(), o.eps(), o.amsgrad(), /*maximize=*/false);
    else
      at::_fused_adam_(params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs, steps, o.lr(), beta1, beta2,
                       o.weight_decay(), o.eps(), o.amsgrad(), /*maximize=*/false);
  }
}

torch::Tensor run_closure(torch::optim::Optimizer::LossClosure& closure) {
  torch::Tensor loss;
  if (closure) {
    at::AutoGradMode enable_grad(true);
    loss = closure();
  }
  return loss;
}

// Where an Adam-family step runs: the one-pass CPU loop, PyTorch's CUDA kernels, or LibTorch's own.
enum class AdamPath { cpu_loop, cuda_kernels, libtorch };

template <typename Options>
AdamPath adam_path(const std::vector<torch::optim::OptimizerParamGroup>& groups) {
  if (all_fusable<Options>(groups)) return AdamPath::cpu_loop;
  return on_one_cuda_device(groups) ? AdamPath::cuda_kernels : AdamPath::libtorch;
}

template <typename State, typename Options>
void fused_adam_step(AdamPath path, std::vector<torch::optim::OptimizerParamGroup>& groups, ParamStates& states,
                     bool decoupled) {
  if (path == AdamPath::cpu_loop)
    adam_step<State, Options>(groups, states, decoupled);
  else
    adam_step_multi_tensor<State, Options>(groups, states, decoupled);
}

}  // namespace

torch::Tensor FusedAdamW::step(LossClosure closure) {
  const auto path = adam_path<torch::optim::AdamWOptions>(param_groups_);
  if (path == AdamPath::libtorch) return torch::optim::AdamW::step(closure);
  torch::NoGradGuard no_grad;
  auto loss = run_closure(closure);
  fused_adam_step<torch::optim::AdamWParamState, torch::optim::AdamWOptions>(path, param_groups_, state_,
                                                                             /*decoupled=*/true);
  return loss;
}

torch::Tensor FusedAdam::step(LossClosure closure) {
  const auto path = adam_path<torch::optim::AdamOptions>(param_groups_);
  if (path == AdamPath::libtorch) return torch::optim::Adam::step(closure);
  torch::NoGradGuard no_grad;
  auto loss = run_closure(closure);
  fused_adam_step<torch::optim::AdamParamState, torch::optim::AdamOptions>(path, param_groups_, state_,
                                                                           /*decoupled=*/false);
  return loss;
}

torch::Tensor FusedSGD::step(LossClosure closure) {
  if (!all_fusable<torch::optim::SGDOptions>(param_groups_)) return torch::optim::SGD::step(closure);
  torch::NoGradGuard no_grad;
  auto loss = run_closure(closure);
  for (auto& group : param_groups_) {
    auto& o = static_cast<torch::optim::SGDOptions&>(group.options());
    const float lr = static_cast<float>(o.lr()), wd = static_cast<float>(o.weight_decay());
    const float momentum = static_cast<float>(o.momentum()),
                one_minus_dampening = static_cast<float>(1 - o.dampening());
    const bool nesterov = o.nesterov();
    for (auto& p : group.params()) {
      if (!p.grad().defined()) continue;
      float* pd = p.data_ptr<float>();
      const float* gd = p.grad().data_ptr<float>();
      if (momentum == 0) {
        at::parallel_for(0, p.numel(), kGrain, [&](int64_t b, int64_t e) {
          for (int64_t i = b; i < e; ++i) pd[i] = pd[i] - lr * (gd[i] + wd * pd[i]);
        });
        continue;
      }
      auto& slot = state_[optimizer_state_key(p)];
      bool first = false;
      if (!slot) {
        auto st = std::make_unique<torch::optim::SGDParamState>();
        st->momentum_buffer(torch::empty_like(p, torch::MemoryFormat::Preserve));
        slot = std::move(st);
        first = true;
      }
      float* buf = static_cast<torch::optim::SGDParamState&>(*slot).momentum_buffer().data_ptr<float>();
      at::parallel_for(0, p.numel(), kGrain, [&](int64_t b, int64_t e) {
        for (int64_t i = b; i < e; ++i) {
          const float d = wd != 0 ? gd[i] + wd * pd[i] : gd[i];
          // The first step copies the gradient into the buffer (no dampening), as LibTorch does.
          const float bi = first ? d : buf[i] * momentum + one_minus_dampening * d;
          buf[i] = bi;
          const float upd = nesterov ? d + momentum * bi : bi;
          pd[i] = pd[i] - lr * upd;
        }
      });
    }
  }
  return loss;
}

torch::Tensor clip_grad_norm_fused(const std::vector<torch::Tensor>& grads, double max_norm) {
  if (grads.empty()) return torch::zeros({});
  // The original's clip_grad_norm_, operation for operation (per-tensor norms, the norm of their
  // stack, a clamped coefficient every gradient is multiplied by), so that training matches the
  // Hugging Face Trainer's to the last bit: a faster CPU pass that summed in double drifted from it
  // by 1e-7 at the first step and 2e-5 in the weights after 1,000 (tests/oracle). Multi-tensor
  // kernels: a few launches for all gradients, and the norm stays on the device.
  auto total = torch::stack(at::_foreach_norm(grads, 2)).norm(2);
  auto coef = (max_norm / (total + 1e-6)).clamp_max(1.0);
  at::_foreach_mul_(grads, coef);
  return total;
}

}  // namespace trainer
