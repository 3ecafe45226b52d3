// Training throughput on Fashion-MNIST, one configuration per process (so peak memory is its own):
//   build/bench/train_throughput MODE MODEL STEPS
// MODE:  trainer     Trainer::train with its default callbacks (progress display included)
//        loop_torch  a hand-written LibTorch loop with torch::optim::AdamW
//        loop_fused  the same loop with trainer::FusedAdamW
// MODEL: mlp | cnn. All: batch 32, AdamW lr 1e-3, gradient clipping at 1.0, a linear schedule.
// Prints one JSON line: {"mode", "model", "steps_per_second", "peak_rss_mb"}; steps per second are
// measured after a warm-up of 50 steps.

#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <string>

#include <torch/torch.h>
#include <trainer/trainer.h>

namespace {

using Clock = std::chrono::steady_clock;
constexpr int64_t kWarmup = 50;
constexpr int64_t kBatch = 32;

double peak_rss_mb() {
  struct rusage usage {};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_maxrss) / 1024.0;
}

// Notes the time at the end of the warm-up and of the last step.
struct Timer : trainer::TrainerCallback {
  Clock::time_point warm, last;
  void on_step_end(const Args&, trainer::TrainerState& s, trainer::TrainerControl&, trainer::CallbackContext&) override {
    if (s.global_step == kWarmup) warm = Clock::now();
    last = Clock::now();
  }
};

double run_trainer(std::shared_ptr<trainer::Model> model, std::shared_ptr<trainer::TensorDataset> data, int64_t steps) {
  trainer::TrainingArguments args;
  args.output_dir = "/tmp/trainer-throughput-bench";
  args.per_device_train_batch_size = kBatch;
  args.learning_rate = 1e-3;
  args.max_steps = steps;
  args.save_strategy = trainer::SaveStrategy::no;
  args.logging_steps = 500;
  auto timer = std::make_shared<Timer>();
  trainer::Trainer t(model, args, data, nullptr, {timer});
  t.train();
  return static_cast<double>(steps - kWarmup) / std::chrono::duration<double>(timer->last - timer->warm).count();
}

template <typename Optimizer>
double run_loop(std::shared_ptr<trainer::Model> model, std::shared_ptr<trainer::TensorDataset> data, int64_t steps, bool fused_clip) {
  std::vector<torch::Tensor> params;
  for (auto& [name, p] : model->named_parameters()) params.push_back(p);
  Optimizer opt(params, torch::optim::AdamWOptions(1e-3));
  trainer::TensorDataLoader::Options o;
  o.batch_size = kBatch;
  o.shuffle = true;
  o.seed = 42;
  trainer::TensorDataLoader loader(data, o);
  auto loss_sum = torch::zeros({});
  int64_t epoch = 0, index = 0;
  Clock::time_point warm;
  model->train();
  for (int64_t step = 0; step < steps; ++step) {
    if (step == kWarmup) warm = Clock::now();
    if (index == loader.num_batches()) {
      loader.set_epoch(++epoch);
      index = 0;
    }
    auto batch = loader.batch(index++);
    auto loss = torch::nn::functional::cross_entropy(model->forward(batch.inputs), batch.labels);
    loss.backward();
    std::vector<torch::Tensor> grads;
    for (auto& p : params) grads.push_back(p.grad());
    if (fused_clip) trainer::clip_grad_norm_fused(grads, 1.0);
    else torch::nn::utils::clip_grad_norm_(params, 1.0);
    opt.param_groups()[0].options().set_lr(1e-3 * static_cast<double>(steps - step) / static_cast<double>(steps));
    opt.step();
    for (auto& p : params) p.mutable_grad() = torch::Tensor();
    loss_sum.add_(loss.detach());  // read once at the end, as a loop that logs rarely would
  }
  const double seconds = std::chrono::duration<double>(Clock::now() - warm).count();
  std::fprintf(stderr, "mean loss %.4f\n", loss_sum.item<double>() / static_cast<double>(steps));
  return static_cast<double>(steps - kWarmup) / seconds;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: train_throughput trainer|loop_torch|loop_fused mlp|cnn STEPS\n");
    return 2;
  }
  const std::string mode = argv[1], model_name = argv[2];
  const int64_t steps = std::stoll(argv[3]);
  trainer::set_seed(42);
  auto data = trainer::load_fashion_mnist("train");
  auto model = trainer::make_builtin_model(model_name);
  double sps = 0;
  if (mode == "trainer") sps = run_trainer(model, data, steps);
  else if (mode == "loop_torch") sps = run_loop<torch::optim::AdamW>(model, data, steps, false);
  else if (mode == "loop_fused") sps = run_loop<trainer::FusedAdamW>(model, data, steps, true);
  else return 2;
  std::printf("{\"mode\": \"%s\", \"model\": \"%s\", \"steps_per_second\": %.2f, \"peak_rss_mb\": %.1f}\n", mode.c_str(),
              model_name.c_str(), sps, peak_rss_mb());
  return 0;
}
