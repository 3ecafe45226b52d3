#pragma once
// Model: what the Trainer trains. Wraps either a C++ torch::nn::Module (any module whose forward
// takes a batch of inputs and returns logits) or a TorchScript module scripted in Python.

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <torch/nn/module.h>
#include <torch/types.h>

#include "trainer/core/json.h"

namespace trainer {

using NamedTensors = std::vector<std::pair<std::string, torch::Tensor>>;

class Model {
 public:
  virtual ~Model() = default;
  virtual torch::Tensor forward(const torch::Tensor& inputs) = 0;
  // Trainable parameters, with their dotted names (as in a Python state_dict).
  virtual NamedTensors named_parameters() = 0;
  virtual NamedTensors named_buffers() = 0;
  virtual void train(bool on = true) = 0;
  void eval() { train(false); }
  virtual void to(const torch::Device& device) = 0;
  // Parameters of normalisation layers, kept out of weight decay with the biases.
  virtual std::vector<std::string> normalization_parameter_names() { return {}; }
  virtual std::string describe() const = 0;
  // The model's configuration as the original writes model.config: here its architecture, each
  // layer with its options and parameter count, and the total. Trackers log it (TensorBoard's
  // model_config text). The default lists the parameter tensors and their shapes.
  virtual Json config();

  NamedTensors state_dict();
  // Copies tensors into the parameters and buffers of the same names. Throws std::runtime_error
  // naming the first missing, unexpected or mis-shaped tensor.
  void load_state_dict(const NamedTensors& tensors);
  int64_t num_parameters();
};

// Adapts a torch::nn::Module whose forward(Tensor) returns logits.
class ModuleModel : public Model {
 public:
  ModuleModel(std::shared_ptr<torch::nn::Module> module, std::function<torch::Tensor(const torch::Tensor&)> forward);

  torch::Tensor forward(const torch::Tensor& inputs) override { return forward_(inputs); }
  NamedTensors named_parameters() override;
  NamedTensors named_buffers() override;
  void train(bool on) override { module_->train(on); }
  void to(const torch::Device& device) override { module_->to(device); }
  std::vector<std::string> normalization_parameter_names() override;
  std::string describe() const override;
  Json config() override;
  torch::nn::Module& module() { return *module_; }

 private:
  std::shared_ptr<torch::nn::Module> module_;
  std::function<torch::Tensor(const torch::Tensor&)> forward_;
};

// Wraps any module holder or shared_ptr whose forward takes a tensor: wrap_module(Net(...)).
template <typename ModuleHolder>
std::shared_ptr<Model> wrap_module(ModuleHolder holder) {
  auto ptr = holder.ptr();
  return std::make_shared<ModuleModel>(ptr, [ptr](const torch::Tensor& x) { return ptr->forward(x); });
}

// Loads a TorchScript module (torch.jit.script(model).save(path) in Python). Throws
// std::runtime_error naming the file when it cannot be read.
std::shared_ptr<Model> load_script_model(const std::string& path);

}  // namespace trainer
