// Changing what a step computes: subclass Trainer and override compute_loss (here, a focal loss).
// Callbacks only observe and steer; overriding is how the original's users change the step too.

#include <iostream>

#include <trainer/trainer.h>

class FocalLossTrainer : public trainer::Trainer {
 public:
  using trainer::Trainer::Trainer;

 protected:
  torch::Tensor compute_loss(trainer::Model& model, const trainer::Batch& batch, torch::Tensor* logits) override {
    auto out = model.forward(batch.inputs);
    if (logits) *logits = out;
    auto log_p = torch::log_softmax(out, -1).gather(1, batch.labels.unsqueeze(1)).squeeze(1);
    auto p = log_p.exp();
    return (-(1 - p).pow(gamma_) * log_p).mean();
  }

 private:
  double gamma_ = 2.0;
};

int main() {
  trainer::set_seed(0);
  auto x = torch::randn({512, 20});
  auto y = (x.sum(1) > 0).to(torch::kLong);
  auto data = std::make_shared<trainer::TensorDataset>(x, y);
  trainer::TrainingArguments args;
  args.output_dir = "focal_loss_output";
  args.learning_rate = 1e-2;
  args.num_train_epochs = 2;
  args.save_strategy = trainer::SaveStrategy::no;
  args.logging_steps = 32;
  args.disable_tqdm = true;
  FocalLossTrainer trainer(trainer::make_builtin_model("mlp", 20, 2), args, data, data, {}, trainer::compute_accuracy);
  trainer.train();
  auto metrics = trainer.evaluate();
  std::cout << "accuracy " << metrics["eval_accuracy"] << "\n";
  return 0;
}
