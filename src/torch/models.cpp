#include "trainer/torch/models.h"

#include <cmath>
#include <stdexcept>

#include <torch/torch.h>

namespace trainer {
namespace {

struct MlpImpl : torch::nn::Module {
  MlpImpl(int64_t in, int64_t classes)
      : torch::nn::Module("Mlp"),
        fc1(register_module("fc1", torch::nn::Linear(in, 256))),
        fc2(register_module("fc2", torch::nn::Linear(256, 128))),
        fc3(register_module("fc3", torch::nn::Linear(128, classes))) {}
  torch::Tensor forward(const torch::Tensor& x) {
    auto h = x.flatten(1);
    h = torch::relu(fc1->forward(h));
    h = torch::relu(fc2->forward(h));
    return fc3->forward(h);
  }
  torch::nn::Linear fc1, fc2, fc3;
};
TORCH_MODULE(Mlp);

// Side of the feature map after two (3x3 convolution, 2x2 max-pool) stages.
int64_t pooled_side(int64_t side) { return ((side - 2) / 2 - 2) / 2; }

struct CnnImpl : torch::nn::Module {
  CnnImpl(int64_t side, int64_t classes)
      : torch::nn::Module("Cnn"),
        conv1(register_module("conv1", torch::nn::Conv2d(torch::nn::Conv2dOptions(1, 32, 3)))),
        conv2(register_module("conv2", torch::nn::Conv2d(torch::nn::Conv2dOptions(32, 64, 3)))),
        fc1(register_module("fc1", torch::nn::Linear(64 * pooled_side(side) * pooled_side(side), 128))),
        fc2(register_module("fc2", torch::nn::Linear(128, classes))),
        side_(side) {}
  torch::Tensor forward(const torch::Tensor& x) {
    auto h = x.reshape({x.size(0), 1, side_, side_});
    h = torch::max_pool2d(torch::relu(conv1->forward(h)), 2);
    h = torch::max_pool2d(torch::relu(conv2->forward(h)), 2);
    h = torch::relu(fc1->forward(h.flatten(1)));
    return fc2->forward(h);
  }
  torch::nn::Conv2d conv1, conv2;
  torch::nn::Linear fc1, fc2;
  int64_t side_;
};
TORCH_MODULE(Cnn);

}  // namespace

std::shared_ptr<Model> make_builtin_model(const std::string& name, int64_t in_features, int64_t num_classes) {
  if (name == "mlp") return wrap_module(Mlp(in_features, num_classes));
  if (name == "cnn") {
    const auto side = static_cast<int64_t>(std::lround(std::sqrt(static_cast<double>(in_features))));
    if (side * side != in_features || side < 10)
      throw std::invalid_argument(
          "--model cnn needs square single-channel images (28x28 for Fashion-MNIST); the data has " +
          std::to_string(in_features) + " features");
    return wrap_module(Cnn(side, num_classes));
  }
  throw std::invalid_argument("--model: '" + name +
                              "' is not a built-in model (mlp, cnn) nor a TorchScript file (.pt)");
}

}  // namespace trainer
