// Training throughput on Fashion-MNIST, one configuration per process (so peak memory and start-up
// are its own):
//   build/bench/train_throughput MODE MODEL STEPS [BATCH]
// MODE:  plain          a hand-written LibTorch loop: torch::optim::AdamW, no clipping, index_select
//                       batches of a shuffled permutation, the loss read once at the end
//        loop_fused     the same loop with trainer::FusedAdamW and the fused clipping at 1.0
//        trainer_torch  Trainer::train with --optim adamw_torch --max_grad_norm 0 --flush_denormal false
//                       (the plain loop's optimizer, numerics and work, inside the Trainer)
//        trainer        Trainer::train with its defaults (fused AdamW, clipping at 1.0, flush-to-zero)
//        trainer_exact  the defaults with --flush_denormal false (PyTorch's exact numerics; the
//                       defaults before issue 10)
//        trainer_adamw_torch  the defaults with --optim adamw_torch (LibTorch's AdamW in the same loop)
//   build/bench/train_throughput pairs MODE_A MODE_B MODEL STEPS ROUNDS [BATCH]
// runs A and B alternately in this one process, ROUNDS times each (fresh model and seed every run),
// and prints the median of the per-pair ratios B/A: neighbouring runs share the machine's load, so
// the ratio is steadier on a shared VM than the ratio of separate processes.
// MODEL: mlp | cnn. Batch 64 unless given; AdamW lr 1e-3; every Trainer mode with
// --eval_strategy no --save_strategy no --report_to none --disable_tqdm true.
// Prints one JSON line: {"mode", "model", "steps_per_second", "peak_rss_mb", "final_loss"}; steps
// per second are over the whole run after a warm-up of 50 steps (the optimizer's state, subnormal
// values included, grows over the run: short runs flatter the fastest optimizer).

#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>

#include <torch/torch.h>
#include <trainer/trainer.h>

namespace {

using Clock = std::chrono::steady_clock;
constexpr int64_t kWarmup = 50;

double peak_rss_mb() {
  struct rusage usage {};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_maxrss) / 1024.0;
}

struct Result {
  double steps_per_second = 0;
  double final_loss = 0;
};

// Notes the time at the end of the warm-up and of the last step.
struct Timer : trainer::TrainerCallback {
  Clock::time_point warm, last;
  void on_step_end(const Args&, trainer::TrainerState& s, trainer::TrainerControl&,
                   trainer::CallbackContext&) override {
    if (s.global_step == kWarmup) warm = Clock::now();
    last = Clock::now();
  }
};

Result run_trainer(const std::string& mode, std::shared_ptr<trainer::Model> model,
                   std::shared_ptr<trainer::TensorDataset> data, int64_t steps, int64_t batch) {
  trainer::TrainingArguments args;
  args.output_dir = "/tmp/trainer-throughput-bench";
  args.per_device_train_batch_size = batch;
  args.learning_rate = 1e-3;
  args.max_steps = steps;
  args.save_strategy = trainer::SaveStrategy::no;
  args.logging_steps = 500;
  args.disable_tqdm = true;
  if (mode == "trainer_torch") {
    args.optim = trainer::OptimizerNames::adamw_torch;
    args.max_grad_norm = 0;
    args.flush_denormal = false;
  } else if (mode == "trainer_exact") {
    args.flush_denormal = false;
  } else if (mode == "trainer_adamw_torch") {
    args.optim = trainer::OptimizerNames::adamw_torch;
  }
  auto timer = std::make_shared<Timer>();
  trainer::Trainer t(model, args, data, nullptr, {timer});
  const auto out = t.train();
  return {static_cast<double>(steps - kWarmup) / std::chrono::duration<double>(timer->last - timer->warm).count(),
          out.training_loss};
}

template <typename Optimizer>
Result run_loop(std::shared_ptr<trainer::Model> model, std::shared_ptr<trainer::TensorDataset> data, int64_t steps,
                int64_t batch, bool clip) {
  std::vector<torch::Tensor> params;
  for (auto& [name, p] : model->named_parameters()) params.push_back(p);
  Optimizer opt(params, torch::optim::AdamWOptions(1e-3));
  const int64_t n = data->size(), per_epoch = (n + batch - 1) / batch;
  auto gen = at::detail::createCPUGenerator(42);
  torch::Tensor order;
  auto loss_sum = torch::zeros({});
  Clock::time_point warm;
  model->train();
  for (int64_t step = 0; step < steps; ++step) {
    if (step == kWarmup) warm = Clock::now();
    const int64_t index = step % per_epoch;
    if (index == 0) order = torch::randperm(n, gen, torch::kLong);
    auto rows = order.slice(0, index * batch, std::min(n, (index + 1) * batch));
    auto inputs = data->inputs.index_select(0, rows), labels = data->labels.index_select(0, rows);
    auto loss = torch::nn::functional::cross_entropy(model->forward(inputs), labels);
    loss.backward();
    if (clip) {
      std::vector<torch::Tensor> grads;
      for (auto& p : params) grads.push_back(p.grad());
      trainer::clip_grad_norm_fused(grads, 1.0);
    }
    opt.step();
    for (auto& p : params) p.mutable_grad() = torch::Tensor();
    loss_sum.add_(loss.detach());  // read once at the end, as a loop that logs rarely would
  }
  const double seconds = std::chrono::duration<double>(Clock::now() - warm).count();
  return {static_cast<double>(steps - kWarmup) / seconds, loss_sum.item<double>() / static_cast<double>(steps)};
}

Result run_mode(const std::string& mode, const std::string& model_name, std::shared_ptr<trainer::TensorDataset> data,
                int64_t steps, int64_t batch) {
  trainer::set_seed(42);
  auto model = trainer::make_builtin_model(model_name);
  if (mode == "plain") return run_loop<torch::optim::AdamW>(model, data, steps, batch, false);
  if (mode == "loop_fused") return run_loop<trainer::FusedAdamW>(model, data, steps, batch, true);
  if (mode.rfind("trainer", 0) == 0) return run_trainer(mode, model, data, steps, batch);
  throw std::invalid_argument("unknown mode " + mode);
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

int run_pairs(int argc, char** argv) {
  if (argc != 7 && argc != 8) {
    std::fprintf(stderr, "usage: train_throughput pairs MODE_A MODE_B MODEL STEPS ROUNDS [BATCH]\n");
    return 2;
  }
  const std::string a = argv[2], b = argv[3], model_name = argv[4];
  const int64_t steps = std::stoll(argv[5]), rounds = std::stoll(argv[6]), batch = argc == 8 ? std::stoll(argv[7]) : 64;
  auto data = trainer::load_fashion_mnist("train");
  std::vector<double> ratios, as, bs;
  double a_loss = 0, b_loss = 0;
  for (int64_t r = 0; r < rounds; ++r) {
    // Alternate which goes first, so neither always gets the warmer caches.
    const bool a_first = r % 2 == 0;
    Result ra, rb;
    if (a_first) ra = run_mode(a, model_name, data, steps, batch);
    rb = run_mode(b, model_name, data, steps, batch);
    if (!a_first) ra = run_mode(a, model_name, data, steps, batch);
    as.push_back(ra.steps_per_second);
    bs.push_back(rb.steps_per_second);
    ratios.push_back(rb.steps_per_second / ra.steps_per_second);
    a_loss = ra.final_loss;  // the same every round: same seed, same data order
    b_loss = rb.final_loss;
  }
  std::printf(
      "{\"pair\": \"%s/%s\", \"model\": \"%s\", \"steps\": %lld, \"median_ratio\": %.4f, \"min_ratio\": %.4f, "
      "\"max_ratio\": %.4f, \"a_steps_per_second\": %.1f, \"b_steps_per_second\": %.1f, \"a_loss\": %.6f, \"b_loss\": "
      "%.6f}\n",
      b.c_str(), a.c_str(), model_name.c_str(), static_cast<long long>(steps), median(ratios),
      *std::min_element(ratios.begin(), ratios.end()), *std::max_element(ratios.begin(), ratios.end()), median(as),
      median(bs), a_loss, b_loss);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc > 1 && std::string(argv[1]) == "pairs") return run_pairs(argc, argv);
  if (argc != 4 && argc != 5) {
    std::fprintf(stderr,
                 "usage: train_throughput plain|loop_fused|trainer|trainer_torch|trainer_exact|trainer_adamw_torch "
                 "mlp|cnn STEPS [BATCH]\n");
    return 2;
  }
  const std::string mode = argv[1], model_name = argv[2];
  const int64_t steps = std::stoll(argv[3]), batch = argc == 5 ? std::stoll(argv[4]) : 64;
  trainer::set_seed(42);
  auto data = trainer::load_fashion_mnist("train");
  auto model = trainer::make_builtin_model(model_name);
  Result r;
  if (mode == "plain")
    r = run_loop<torch::optim::AdamW>(model, data, steps, batch, false);
  else if (mode == "loop_fused")
    r = run_loop<trainer::FusedAdamW>(model, data, steps, batch, true);
  else if (mode.rfind("trainer", 0) == 0)
    r = run_trainer(mode, model, data, steps, batch);
  else
    return 2;
  std::printf(
      "{\"mode\": \"%s\", \"model\": \"%s\", \"steps\": %lld, \"steps_per_second\": %.2f, \"peak_rss_mb\": %.1f, "
      "\"final_loss\": %.6f}\n",
      mode.c_str(), model_name.c_str(), static_cast<long long>(steps), r.steps_per_second, peak_rss_mb(), r.final_loss);
  return 0;
}
