// A project outside this repository, built against the installed package.
#include <cstdio>

#include <trainer/trainer.h>

struct CountSteps : trainer::TrainerCallback {
  int steps = 0;
  void on_step_end(const Args&, trainer::TrainerState&, trainer::TrainerControl&, trainer::CallbackContext&) override {
    ++steps;
  }
};

int main() {
  auto x = torch::randn({64, 4});
  auto data = std::make_shared<trainer::TensorDataset>(x, (x.sum(1) > 0).to(torch::kLong));
  trainer::TrainingArguments args;
  args.output_dir = "downstream_output";
  args.max_steps = 5;
  args.save_strategy = trainer::SaveStrategy::no;
  args.disable_tqdm = true;
  args.use_cpu = true;
  auto counter = std::make_shared<CountSteps>();
  trainer::Trainer t(trainer::make_builtin_model("mlp", 4, 2), args, data, nullptr, {counter});
  auto out = t.train();
  std::printf("downstream trained %lld steps, %d seen by its callback\n", static_cast<long long>(out.global_step),
              counter->steps);
  return out.global_step == 5 && counter->steps == 5 ? 0 : 1;
}
