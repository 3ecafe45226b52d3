// A custom callback that prints a message when training begins, registered three ways.
//
//   build/examples/custom_callback            (uses Fashion-MNIST when installed, else random data)

#include <iostream>

#include <trainer/trainer.h>

// Callbacks derive from TrainerCallback and override only the events they need.
class HelloCallback : public trainer::TrainerCallback {
 public:
  void on_train_begin(const trainer::TrainingArguments& args, trainer::TrainerState& state, trainer::TrainerControl&,
                      trainer::CallbackContext& ctx) override {
    std::cout << "Starting training: " << state.max_steps << " steps, output in " << args.output_dir << ", model with "
              << ctx.model->num_parameters() << " parameters\n";
  }
};

// A default-constructible callback, registered by type.
class StepCounter : public trainer::TrainerCallback {
 public:
  void on_step_end(const trainer::TrainingArguments&, trainer::TrainerState&, trainer::TrainerControl&,
                   trainer::CallbackContext&) override {
    ++steps;
  }
  int64_t steps = 0;
};

// A callback that steers: stop after a fixed number of steps.
class StopAfter : public trainer::TrainerCallback {
 public:
  explicit StopAfter(int64_t steps) : steps_(steps) {}
  void on_step_end(const trainer::TrainingArguments&, trainer::TrainerState& state, trainer::TrainerControl& control,
                   trainer::CallbackContext&) override {
    if (state.global_step >= steps_) control.should_training_stop = true;
  }

 private:
  int64_t steps_;
};

int main() {
  trainer::set_seed(42);
  std::shared_ptr<trainer::TensorDataset> data;
  try {
    data = trainer::load_fashion_mnist("train");
    data = std::make_shared<trainer::TensorDataset>(data->inputs.slice(0, 0, 2000), data->labels.slice(0, 0, 2000));
  } catch (const std::exception&) {
    data = std::make_shared<trainer::TensorDataset>(torch::rand({2000, 28, 28}), torch::randint(0, 10, {2000}));
  }
  trainer::TrainingArguments args;
  args.output_dir = "custom_callback_output";
  args.num_train_epochs = 1;
  args.learning_rate = 1e-3;
  args.save_strategy = trainer::SaveStrategy::no;
  args.logging_steps = 50;
  args.disable_tqdm = true;

  // 1. By instance, at construction.
  trainer::Trainer trainer(trainer::make_builtin_model("mlp"), args, data, nullptr,
                           {std::make_shared<HelloCallback>()});
  // 2. By type: default-constructed, and returned so it can be read afterwards.
  auto counter = trainer.add_callback<StepCounter>();
  // 3. By instance, after construction.
  trainer.add_callback(std::make_shared<StopAfter>(100));
  std::cout << "Callbacks:\n" << trainer.callback_handler().callback_list() << "\n";
  auto out = trainer.train();
  std::cout << "Stopped at step " << out.global_step << " (" << counter->steps << " steps counted), train_loss "
            << out.training_loss << "\n";
  return 0;
}
