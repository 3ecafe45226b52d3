#include "trainer/torch/optimizers.h"

#include "trainer/core/text.h"

#include "trainer/torch/fused_optimizers.h"
#include "trainer/torch/original_adamw.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <sstream>

#include <torch/torch.h>

namespace trainer {
namespace {

std::map<std::string, std::string> parse_optim_args(const std::optional<std::string>& text) {
  std::map<std::string, std::string> out;
  if (!text) return out;
  std::stringstream ss(*text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    if (item.empty()) continue;
    auto eq = item.find('=');
    if (eq == std::string::npos)
      throw ArgumentError("--optim_args: expected k=v pairs separated by commas, got '" + item + "'");
    out[item.substr(0, eq)] = item.substr(eq + 1);
  }
  return out;
}

void check_known(const std::map<std::string, std::string>& kv, const std::string& optim,
                 std::vector<std::string> known) {
  for (const auto& [k, v] : kv) {
    if (std::find(known.begin(), known.end(), k) == known.end()) {
      std::string list;
      for (const auto& n : known) list += (list.empty() ? "" : ", ") + n;
      throw ArgumentError("--optim_args: '" + k + "' is not an option of --optim " + optim + " (valid: " + list + ")");
    }
  }
}

}  // namespace

bool excluded_from_weight_decay(const std::string& name, const std::vector<std::string>& normalization_params) {
  if (std::find(normalization_params.begin(), normalization_params.end(), name) != normalization_params.end())
    return true;
  const std::string lower = ascii_lower(name);
  if (lower.find("bias") != std::string::npos || lower.find("layernorm") != std::string::npos ||
      lower.find("rmsnorm") != std::string::npos)
    return true;
  std::stringstream ss(lower);
  std::string segment;
  while (std::getline(ss, segment, '.')) {
    if (segment == "norm") return true;
    if (segment.size() > 5 && segment.compare(segment.size() - 5, 5, "_norm") == 0) return true;
  }
  return false;
}

namespace {

// What every optimizer is built from: the two parameter groups and the parsed --optim_args.
struct OptimizerInputs {
  const TrainingArguments& args;
  std::vector<torch::Tensor> decay, no_decay;
  std::map<std::string, std::string> optim_args;

  bool flag(const char* key, bool fallback) const {
    return optim_args.count(key) ? parse_bool_value("optim_args " + std::string(key), optim_args.at(key)) : fallback;
  }
  double number(const char* key, double fallback) const {
    if (!optim_args.count(key)) return fallback;
    const double v = parse_float_value("optim_args " + std::string(key), optim_args.at(key));
    if (!std::isfinite(v) || v < 0)
      throw ArgumentError("--optim_args: " + std::string(key) + " must be a finite number >= 0, got '" +
                          optim_args.at(key) + "'");
    return v;
  }
  // The groups with weight decay on the first only; `make(weight_decay)` builds one group's options.
  template <typename MakeOptions>
  std::vector<torch::optim::OptimizerParamGroup> groups(MakeOptions make) const {
    std::vector<torch::optim::OptimizerParamGroup> g;
    g.emplace_back(decay, make(args.weight_decay));
    g.emplace_back(no_decay, make(0.0));
    return g;
  }
};

template <typename Options>
std::unique_ptr<Options> adam_options(const OptimizerInputs& in, double weight_decay) {
  const auto& a = in.args;
  return std::make_unique<Options>(Options(a.learning_rate)
                                       .betas({a.adam_beta1, a.adam_beta2})
                                       .eps(a.adam_epsilon)
                                       .weight_decay(weight_decay)
                                       .amsgrad(in.flag("amsgrad", false)));
}

template <typename Optimizer, typename Options>
std::unique_ptr<torch::optim::Optimizer> make_adam(const OptimizerInputs& in) {
  auto make = [&](double wd) { return adam_options<Options>(in, wd); };
  return std::make_unique<Optimizer>(in.groups(make), *make(0.0));
}

std::unique_ptr<torch::optim::Optimizer> make_sgd(const OptimizerInputs& in) {
  const double momentum = in.number("momentum", 0.0), dampening = in.number("dampening", 0.0);
  const bool nesterov = in.flag("nesterov", false);
  if (nesterov && (momentum <= 0 || dampening != 0))
    throw ArgumentError("--optim_args: nesterov needs momentum > 0 and dampening 0");
  auto make = [&](double wd) {
    return std::make_unique<torch::optim::SGDOptions>(torch::optim::SGDOptions(in.args.learning_rate)
                                                          .momentum(momentum)
                                                          .dampening(dampening)
                                                          .nesterov(nesterov)
                                                          .weight_decay(wd));
  };
  return std::make_unique<FusedSGD>(in.groups(make), *make(0.0));
}

// One entry per --optim choice: the --optim_args it accepts and how it is built.
struct OptimizerEntry {
  OptimizerNames name;
  std::vector<std::string> optim_args;
  std::unique_ptr<torch::optim::Optimizer> (*make)(const OptimizerInputs&);
};

const std::vector<OptimizerEntry>& optimizer_registry() {
  static const std::vector<OptimizerEntry> registry = {
      {OptimizerNames::adamw_torch_fused, {"amsgrad"}, make_adam<FusedAdamW, torch::optim::AdamWOptions>},
      {OptimizerNames::adamw_torch, {"amsgrad"}, make_adam<OriginalAdamW, torch::optim::AdamWOptions>},
      {OptimizerNames::adamw, {"amsgrad"}, make_adam<FusedAdamW, torch::optim::AdamWOptions>},
      {OptimizerNames::adam, {"amsgrad"}, make_adam<FusedAdam, torch::optim::AdamOptions>},
      {OptimizerNames::sgd, {"momentum", "dampening", "nesterov"}, make_sgd},
  };
  return registry;
}

}  // namespace

std::unique_ptr<torch::optim::Optimizer> create_optimizer(const TrainingArguments& args, Model& model) {
  OptimizerInputs in{args, {}, {}, parse_optim_args(args.optim_args)};
  const auto norm_params = model.normalization_parameter_names();
  for (auto& [name, p] : model.named_parameters()) {
    if (!p.requires_grad()) continue;
    (excluded_from_weight_decay(name, norm_params) ? in.no_decay : in.decay).push_back(p);
  }
  if (in.decay.empty() && in.no_decay.empty())
    throw ArgumentError("--model: the model has no trainable parameters (none of its " +
                        std::to_string(model.named_parameters().size()) +
                        " parameter tensors requires a gradient); unfreeze some before training");
  for (const auto& entry : optimizer_registry()) {
    if (entry.name != args.optim) continue;
    check_known(in.optim_args, to_string(args.optim), entry.optim_args);
    return entry.make(in);
  }
  throw ArgumentError("--optim: " + to_string(args.optim) + " has no entry in the optimizer registry");
}

void set_group_learning_rate(torch::optim::Optimizer& optimizer, size_t group, double lr) {
  optimizer.param_groups().at(group).options().set_lr(lr);
}

double group_learning_rate(const torch::optim::Optimizer& optimizer, size_t group) {
  return optimizer.param_groups().at(group).options().get_lr();
}

}  // namespace trainer
