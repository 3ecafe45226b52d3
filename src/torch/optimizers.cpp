#include "trainer/torch/optimizers.h"

#include "trainer/torch/fused_optimizers.h"

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
    if (eq == std::string::npos) throw ArgumentError("--optim_args: expected k=v pairs separated by commas, got '" + item + "'");
    out[item.substr(0, eq)] = item.substr(eq + 1);
  }
  return out;
}

void check_known(const std::map<std::string, std::string>& kv, const std::string& optim, std::vector<std::string> known) {
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
  if (std::find(normalization_params.begin(), normalization_params.end(), name) != normalization_params.end()) return true;
  std::string lower = name;
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
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

std::unique_ptr<torch::optim::Optimizer> create_optimizer(const TrainingArguments& args, Model& model) {
  const auto norm_params = model.normalization_parameter_names();
  std::vector<torch::Tensor> decay, no_decay;
  for (auto& [name, p] : model.named_parameters()) {
    if (!p.requires_grad()) continue;
    (excluded_from_weight_decay(name, norm_params) ? no_decay : decay).push_back(p);
  }
  const auto kv = parse_optim_args(args.optim_args);
  auto flag = [&](const char* k, bool fallback) { return kv.count(k) ? parse_bool_value("optim_args " + std::string(k), kv.at(k)) : fallback; };
  auto num = [&](const char* k, double fallback) {
    if (!kv.count(k)) return fallback;
    const double v = parse_float_value("optim_args " + std::string(k), kv.at(k));
    if (!std::isfinite(v) || v < 0)
      throw ArgumentError("--optim_args: " + std::string(k) + " must be a finite number >= 0, got '" + kv.at(k) + "'");
    return v;
  };
  if (decay.empty() && no_decay.empty())
    throw ArgumentError("--model: the model has no trainable parameters (none of its " +
                        std::to_string(model.named_parameters().size()) +
                        " parameter tensors requires a gradient); unfreeze some before training");

  auto groups = [&](auto make_options) {
    std::vector<torch::optim::OptimizerParamGroup> g;
    g.emplace_back(decay, make_options(args.weight_decay));
    g.emplace_back(no_decay, make_options(0.0));
    return g;
  };
  const bool fused = args.optim != "adamw_torch";
  if (args.optim == "adamw_torch" || args.optim == "adamw_torch_fused" || args.optim == "adamw") {
    check_known(kv, args.optim, {"amsgrad"});
    const bool amsgrad = flag("amsgrad", false);
    auto make = [&](double wd) {
      return std::make_unique<torch::optim::AdamWOptions>(torch::optim::AdamWOptions(args.learning_rate)
                                                              .betas({args.adam_beta1, args.adam_beta2})
                                                              .eps(args.adam_epsilon)
                                                              .weight_decay(wd)
                                                              .amsgrad(amsgrad));
    };
    if (fused) return std::make_unique<FusedAdamW>(groups(make), *make(0.0));
    return std::make_unique<torch::optim::AdamW>(groups(make), *make(0.0));
  }
  if (args.optim == "adam") {
    check_known(kv, args.optim, {"amsgrad"});
    const bool amsgrad = flag("amsgrad", false);
    auto make = [&](double wd) {
      return std::make_unique<torch::optim::AdamOptions>(torch::optim::AdamOptions(args.learning_rate)
                                                             .betas({args.adam_beta1, args.adam_beta2})
                                                             .eps(args.adam_epsilon)
                                                             .weight_decay(wd)
                                                             .amsgrad(amsgrad));
    };
    return std::make_unique<FusedAdam>(groups(make), *make(0.0));
  }
  if (args.optim == "sgd") {
    check_known(kv, args.optim, {"momentum", "dampening", "nesterov"});
    const double momentum = num("momentum", 0.0), dampening = num("dampening", 0.0);
    const bool nesterov = flag("nesterov", false);
    if (nesterov && (momentum <= 0 || dampening != 0))
      throw ArgumentError("--optim_args: nesterov needs momentum > 0 and dampening 0");
    auto make = [&](double wd) {
      return std::make_unique<torch::optim::SGDOptions>(
          torch::optim::SGDOptions(args.learning_rate).momentum(momentum).dampening(dampening).nesterov(nesterov).weight_decay(wd));
    };
    return std::make_unique<FusedSGD>(groups(make), *make(0.0));
  }
  throw ArgumentError("--optim: '" + args.optim + "' is not available (adamw_torch_fused, adamw_torch, adamw, adam, sgd)");
}

void set_group_learning_rate(torch::optim::Optimizer& optimizer, size_t group, double lr) {
  optimizer.param_groups().at(group).options().set_lr(lr);
}

double group_learning_rate(const torch::optim::Optimizer& optimizer, size_t group) {
  return optimizer.param_groups().at(group).options().get_lr();
}

}  // namespace trainer
