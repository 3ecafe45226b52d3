#include "trainer/torch/model.h"

#include <sstream>
#include <stdexcept>
#include <unordered_map>

#include <torch/script.h>

namespace trainer {

NamedTensors Model::state_dict() {
  NamedTensors out = named_parameters();
  for (auto& b : named_buffers()) out.push_back(std::move(b));
  return out;
}

void Model::load_state_dict(const NamedTensors& tensors) {
  std::unordered_map<std::string, const torch::Tensor*> given;
  for (const auto& [name, t] : tensors) given[name] = &t;
  torch::NoGradGuard no_grad;
  auto own = state_dict();
  for (auto& [name, target] : own) {
    auto it = given.find(name);
    if (it == given.end()) throw std::runtime_error("state dict: missing tensor '" + name + "'");
    const auto& src = *it->second;
    if (src.sizes() != target.sizes()) {
      std::ostringstream msg;
      msg << "state dict: tensor '" << name << "' has shape " << src.sizes() << ", the model expects "
          << target.sizes();
      throw std::runtime_error(msg.str());
    }
    target.copy_(src);
    given.erase(it);
  }
  if (!given.empty()) throw std::runtime_error("state dict: unexpected tensor '" + given.begin()->first + "'");
}

int64_t Model::num_parameters() {
  int64_t n = 0;
  for (const auto& p : named_parameters()) n += p.second.numel();
  return n;
}

Json Model::config() {
  Json tensors = Json::object();
  for (const auto& [name, t] : named_parameters()) tensors[name] = t.sizes().vec();
  return Json{{"num_parameters", num_parameters()}, {"parameters", tensors}};
}

ModuleModel::ModuleModel(std::shared_ptr<torch::nn::Module> module,
                         std::function<torch::Tensor(const torch::Tensor&)> forward)
    : module_(std::move(module)), forward_(std::move(forward)) {}

NamedTensors ModuleModel::named_parameters() {
  NamedTensors out;
  for (const auto& item : module_->named_parameters(true)) out.emplace_back(item.key(), item.value());
  return out;
}

NamedTensors ModuleModel::named_buffers() {
  NamedTensors out;
  for (const auto& item : module_->named_buffers(true)) out.emplace_back(item.key(), item.value());
  return out;
}

std::vector<std::string> ModuleModel::normalization_parameter_names() {
  std::vector<std::string> out;
  for (const auto& item : module_->named_modules("", false)) {
    const auto& m = item.value();
    if (m->as<torch::nn::LayerNorm>() || m->as<torch::nn::GroupNorm>()) {
      for (const auto& p : m->named_parameters(false)) out.push_back(item.key() + "." + p.key());
    }
  }
  return out;
}

Json ModuleModel::config() {
  Json layers = Json::array();
  for (const auto& item : module_->named_modules("", false)) {
    if (!item.value()->children().empty()) continue;  // leaves only: the layers themselves
    std::ostringstream text;
    item.value()->pretty_print(text);
    int64_t params = 0;
    for (const auto& p : item.value()->parameters()) params += p.numel();
    layers.push_back(Json{{"name", item.key()}, {"layer", text.str()}, {"parameters", params}});
  }
  return Json{{"architecture", module_->name()}, {"num_parameters", num_parameters()}, {"layers", layers}};
}

std::string ModuleModel::describe() const {
  std::ostringstream out;
  module_->pretty_print(out);
  return out.str();
}

namespace {

class ScriptModel : public Model {
 public:
  explicit ScriptModel(torch::jit::Module module, std::string path)
      : module_(std::move(module)), path_(std::move(path)) {}
  torch::Tensor forward(const torch::Tensor& inputs) override {
    auto out = module_.forward({inputs});
    if (!out.isTensor()) throw std::runtime_error(path_ + ": forward must return a tensor of logits");
    return out.toTensor();
  }
  NamedTensors named_parameters() override {
    NamedTensors out;
    for (const auto& p : module_.named_parameters(true)) out.emplace_back(p.name, p.value);
    return out;
  }
  NamedTensors named_buffers() override {
    NamedTensors out;
    for (const auto& b : module_.named_buffers(true)) out.emplace_back(b.name, b.value);
    return out;
  }
  void train(bool on) override { module_.train(on); }
  void to(const torch::Device& device) override { module_.to(device); }
  std::vector<std::string> normalization_parameter_names() override {
    std::vector<std::string> out;
    for (const auto& m : module_.named_modules()) {
      const auto type = m.value.type()->name();
      if (type && type->name() == "LayerNorm")
        for (const auto& p : m.value.named_parameters(false))
          out.push_back(m.name.empty() ? p.name : m.name + "." + p.name);
    }
    return out;
  }
  std::string describe() const override { return "TorchScript module from " + path_; }
  Json config() override {
    Json c = Model::config();
    if (auto name = module_.type()->name()) c["architecture"] = name->qualifiedName();
    c["source"] = path_;
    return c;
  }

 private:
  torch::jit::Module module_;
  std::string path_;
};

}  // namespace

std::shared_ptr<Model> load_script_model(const std::string& path) {
  try {
    return std::make_shared<ScriptModel>(torch::jit::load(path), path);
  } catch (const c10::Error& e) {
    throw std::runtime_error(path +
                             ": not a TorchScript module (save one in Python with "
                             "torch.jit.script(model).save(path)): " +
                             e.what_without_backtrace());
  }
}

}  // namespace trainer
