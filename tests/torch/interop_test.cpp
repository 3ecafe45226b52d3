// Weights move between this library and Python: a model.safetensors written here loads into a
// torch.nn model in Python, and a state_dict saved from Python loads into the same C++ model; both
// give the same logits. The Python side is tests/torch/safetensors_interop.py (python3-torch).

#include <gtest/gtest.h>

#include <cstdlib>

#include "test_support.h"
#include "trainer/torch/device.h"
#include "trainer/torch/models.h"
#include "trainer/torch/safetensors.h"

namespace trainer {
namespace {

const std::string kScript = std::string(TRAINER_SOURCE_DIR) + "/tests/torch/safetensors_interop.py";

torch::Tensor fixed_input() { return torch::linspace(-1, 1, 4 * 784).reshape({4, 784}); }

torch::Tensor logits_from(const std::filesystem::path& file) {
  for (auto& [name, t] : load_safetensors(file))
    if (name == "logits") return t;
  ADD_FAILURE() << "no logits in " << file;
  return {};
}

int python(const std::string& args) {
  return std::system((std::string(TRAINER_PYTHON) + " " + kScript + " " + args).c_str());
}

TEST(Interop, CppWeightsLoadInPython) {
  testing::TempDir dir;
  set_seed(7);
  auto model = make_builtin_model("mlp");
  model->eval();
  save_safetensors(dir / "model.safetensors", model->state_dict());
  ASSERT_EQ(python("read " + (dir / "model.safetensors").string() + " " + (dir / "logits.safetensors").string()), 0);
  torch::NoGradGuard no_grad;
  EXPECT_TRUE(torch::allclose(logits_from(dir / "logits.safetensors"), model->forward(fixed_input()), 1e-6, 1e-6));
}

TEST(Interop, PythonWeightsLoadInCpp) {
  testing::TempDir dir;
  ASSERT_EQ(python("write " + (dir / "py.safetensors").string() + " " + (dir / "logits.safetensors").string()), 0);
  auto model = make_builtin_model("mlp");
  model->load_state_dict(load_safetensors(dir / "py.safetensors"));
  model->eval();
  torch::NoGradGuard no_grad;
  EXPECT_TRUE(torch::allclose(logits_from(dir / "logits.safetensors"), model->forward(fixed_input()), 1e-6, 1e-6));
  // A mismatching state dict is refused with the tensor named.
  auto other = make_builtin_model("mlp", 100, 10);
  try {
    other->load_state_dict(load_safetensors(dir / "py.safetensors"));
    FAIL();
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("fc1.weight"), std::string::npos);
  }
}

}  // namespace
}  // namespace trainer
