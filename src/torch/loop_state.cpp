#include "trainer/torch/loop_state.h"

#include <cmath>

#include <torch/torch.h>

namespace trainer {
namespace {

torch::TensorOptions float_on(torch::Device device) {
  return torch::TensorOptions().dtype(torch::kFloat).device(device);
}

Json optional_json(const std::optional<double>& v) { return v ? Json(*v) : Json(nullptr); }

}  // namespace

LoopState LoopState::start(torch::Device device, int64_t global_step) {
  LoopState s;
  s.tr_loss = torch::zeros({}, float_on(device));
  s.nonfinite = torch::zeros({}, float_on(device));
  s.last_logged_step = global_step;
  return s;
}

LoopState::Accumulated LoopState::read_accumulators() const {
  std::vector<torch::Tensor> parts = {tr_loss, nonfinite};
  if (grad_norm.defined()) parts.push_back(grad_norm.to(torch::kFloat));
  const auto host = torch::stack(parts).to(torch::kCPU);
  const float* v = host.data_ptr<float>();
  Accumulated a;
  a.tr_loss = v[0];
  a.nonfinite = static_cast<int64_t>(v[1]);
  if (grad_norm.defined()) a.grad_norm = v[2];
  return a;
}

void LoopState::reset_accumulators() {
  tr_loss.zero_();
  nonfinite.zero_();
}

void LoopState::add_loss(const torch::Tensor& loss, bool nan_inf_filter, int64_t steps_since_log) {
  const auto denom = static_cast<float>(steps_since_log);
  if (loss.is_cpu() && tr_loss.is_cpu() && loss.scalar_type() == torch::kFloat && loss.numel() == 1) {
    // The values are already in memory: the same float32 arithmetic as the tensor operations below,
    // without their six dispatches per step (a few microseconds, 1-2% of a small MLP's step).
    const float value = *loss.data_ptr<float>();
    float& sum = *tr_loss.data_ptr<float>();
    const bool bad = !std::isfinite(value);
    if (bad) *nonfinite.data_ptr<float>() += 1.0f;
    sum += bad && nan_inf_filter ? sum / denom : value;
    return;
  }
  auto bad = loss.isfinite().logical_not();
  nonfinite.add_(bad);
  if (nan_inf_filter)
    tr_loss.add_(torch::where(bad, tr_loss / denom, loss.to(torch::kFloat)));
  else
    tr_loss.add_(loss);
}

Json LoopState::to_json(const Accumulated& now) const {
  Json j = Json::object();
  j["tr_loss"] = now.tr_loss;
  j["nonfinite"] = static_cast<double>(now.nonfinite);
  j["total_loss_scalar"] = total_loss_scalar;
  j["last_logged_step"] = last_logged_step;
  j["micro_batches_since_log"] = micro_batches_since_log;
  j["current_flos"] = current_flos;
  j["grad_norm"] = optional_json(now.grad_norm);
  j["learning_rate"] = optional_json(learning_rate);
  j["num_train_examples"] = num_train_examples ? Json(*num_train_examples) : Json(nullptr);
  j["world_size"] = world_size ? Json(*world_size) : Json(nullptr);
  return j;
}

LoopState LoopState::from_json(const Json& j, torch::Device device) {
  // Fields in the file's order, so an error names the first one that is wrong.
  const auto tr = required_field<double>(j, "tr_loss");
  const auto bad = required_field<double>(j, "nonfinite");
  LoopState s;
  s.total_loss_scalar = required_field<double>(j, "total_loss_scalar");
  s.last_logged_step = required_field<int64_t>(j, "last_logged_step");
  s.micro_batches_since_log = required_field<int64_t>(j, "micro_batches_since_log");
  s.current_flos = required_field<double>(j, "current_flos");
  const auto grad_norm = optional_field<double>(j, "grad_norm");
  s.learning_rate = optional_field<double>(j, "learning_rate");
  s.num_train_examples = optional_field<int64_t>(j, "num_train_examples");
  s.world_size = optional_field<int64_t>(j, "world_size");
  s.tr_loss = torch::full({}, tr, float_on(device));
  s.nonfinite = torch::full({}, bad, float_on(device));
  if (grad_norm) s.grad_norm = torch::full({}, *grad_norm, float_on(device));
  return s;
}

LoopState LoopState::read(const std::filesystem::path& path, torch::Device device) {
  return read_file_with_context(path, [&] { return from_json(read_json_file(path), device); });
}

}  // namespace trainer
