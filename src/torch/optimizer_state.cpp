#include "trainer/torch/optimizer_state.h"

#include <stdexcept>

#include <torch/torch.h>

#include "trainer/torch/safetensors.h"

namespace trainer {
namespace {

SnapshotPool* g_pool = nullptr;  // set for the duration of one snapshot_optimizer() call

torch::Tensor host_copy(const std::string& name, const torch::Tensor& t) {
  if (g_pool) return g_pool->copy("optimizer." + name, t);
  return t.detach().to(torch::kCPU, /*non_blocking=*/false, /*copy=*/true);
}

std::string type_of(torch::optim::Optimizer& opt) {
  if (dynamic_cast<torch::optim::AdamW*>(&opt)) return "adamw";
  if (dynamic_cast<torch::optim::Adam*>(&opt)) return "adam";
  if (dynamic_cast<torch::optim::SGD*>(&opt)) return "sgd";
  throw std::invalid_argument("optimizer state: only AdamW, Adam and SGD optimizers can be checkpointed");
}

template <typename State>
void snapshot_adam(const State& st, const std::string& prefix, OptimizerSnapshot& snap) {
  snap.tensors.emplace_back(prefix + "exp_avg", host_copy(prefix + "exp_avg", st.exp_avg()));
  snap.tensors.emplace_back(prefix + "exp_avg_sq", host_copy(prefix + "exp_avg_sq", st.exp_avg_sq()));
  if (st.max_exp_avg_sq().defined())
    snap.tensors.emplace_back(prefix + "max_exp_avg_sq", host_copy(prefix + "max_exp_avg_sq", st.max_exp_avg_sq()));
}

// An Adam/AdamW state from the saved tensors; null when a moment is missing.
template <typename State, typename Get>
std::unique_ptr<torch::optim::OptimizerParamState> restored_adam_state(int64_t step, Get& get) {
  auto st = std::make_unique<State>();
  st->step(step);
  st->exp_avg(get("exp_avg"));
  st->exp_avg_sq(get("exp_avg_sq"));
  st->max_exp_avg_sq(get("max_exp_avg_sq"));
  if (!st->exp_avg().defined() || !st->exp_avg_sq().defined()) return nullptr;
  return st;
}

}  // namespace

torch::Tensor SnapshotPool::copy(const std::string& name, const torch::Tensor& source) {
  auto& slot = buffers_[name];
  const auto src = source.detach();
  if (!slot.defined() || slot.use_count() > 1 || slot.sizes() != src.sizes() || slot.scalar_type() != src.scalar_type())
    slot = torch::empty(src.sizes(), src.options().device(torch::kCPU));
  slot.copy_(src);
  return slot;
}

OptimizerSnapshot snapshot_optimizer(torch::optim::Optimizer& opt, SnapshotPool* pool) {
  struct PoolScope {
    explicit PoolScope(SnapshotPool* p) { g_pool = p; }
    ~PoolScope() { g_pool = nullptr; }
  } scope(pool);
  OptimizerSnapshot snap;
  const std::string type = type_of(opt);
  snap.meta = Json{{"type", type}, {"steps", Json::object()}, {"group_lrs", Json::array()}};
  int64_t index = 0;
  for (auto& group : opt.param_groups()) {
    snap.meta["group_lrs"].push_back(group.options().get_lr());
    for (auto& p : group.params()) {
      const std::string prefix = "state." + std::to_string(index) + ".";
      auto it = opt.state().find(optimizer_state_key(p));
      if (it != opt.state().end()) {
        if (type == "adamw") {
          auto& st = static_cast<torch::optim::AdamWParamState&>(*it->second);
          snapshot_adam(st, prefix, snap);
          snap.meta["steps"][std::to_string(index)] = st.step();
        } else if (type == "adam") {
          auto& st = static_cast<torch::optim::AdamParamState&>(*it->second);
          snapshot_adam(st, prefix, snap);
          snap.meta["steps"][std::to_string(index)] = st.step();
        } else {
          auto& st = static_cast<torch::optim::SGDParamState&>(*it->second);
          if (st.momentum_buffer().defined())
            snap.tensors.emplace_back(prefix + "momentum_buffer",
                                      host_copy(prefix + "momentum_buffer", st.momentum_buffer()));
          snap.meta["steps"][std::to_string(index)] = 0;
        }
      }
      ++index;
    }
  }
  return snap;
}

std::string optimizer_state_bytes(const OptimizerSnapshot& snap) {
  return safetensors_bytes(snap.tensors, {{"format", "pt"}, {"optimizer", dump_json(snap.meta, {-1, true, true})}});
}

void load_optimizer_state(torch::optim::Optimizer& opt, const std::filesystem::path& path) {
  const std::string where = path.string() + ": ";
  std::map<std::string, std::string> metadata;
  NamedTensors tensors = load_safetensors(path, &metadata);
  if (!metadata.count("optimizer")) throw std::runtime_error(where + "no optimizer metadata");
  const Json meta = parse_json(metadata["optimizer"], path.string());
  const std::string type = type_of(opt);
  if (meta.value("type", "") != type)
    throw std::runtime_error(where + "holds " + meta.value("type", "?") + " state, but the optimizer is " + type +
                             " (--optim)");
  std::map<std::string, torch::Tensor> by_name(tensors.begin(), tensors.end());
  const auto& lrs = meta.at("group_lrs");
  if (lrs.size() != opt.param_groups().size())
    throw std::runtime_error(where + "the number of parameter groups differs");
  int64_t index = 0;
  torch::NoGradGuard no_grad;
  for (size_t g = 0; g < opt.param_groups().size(); ++g) {
    auto& group = opt.param_groups()[g];
    group.options().set_lr(lrs[g].get<double>());
    for (auto& p : group.params()) {
      const std::string prefix = "state." + std::to_string(index) + ".";
      auto get = [&](const std::string& name) -> torch::Tensor {
        auto it = by_name.find(prefix + name);
        if (it == by_name.end()) return {};
        if (it->second.sizes() != p.sizes())
          throw std::runtime_error(where + "state of parameter " + std::to_string(index) + " does not match its shape");
        return it->second.to(p.device(), p.scalar_type());
      };
      const std::string idx = std::to_string(index);
      if (meta["steps"].contains(idx)) {
        const int64_t step = meta["steps"][idx].get<int64_t>();
        if (type == "sgd") {
          auto st = std::make_unique<torch::optim::SGDParamState>();
          st->momentum_buffer(get("momentum_buffer"));
          opt.state()[optimizer_state_key(p)] = std::move(st);
        } else {
          auto st = type == "adamw" ? restored_adam_state<torch::optim::AdamWParamState>(step, get)
                                    : restored_adam_state<torch::optim::AdamParamState>(step, get);
          if (!st) throw std::runtime_error(where + "moments of parameter " + idx + " are missing");
          opt.state()[optimizer_state_key(p)] = std::move(st);
        }
      }
      ++index;
    }
  }
}

}  // namespace trainer
