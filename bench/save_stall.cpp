// How long the training loop stalls per checkpoint save, synchronous versus --save_async, for a
// model of 50M parameters (AdamW, so a checkpoint holds weights and two moments: ~600 MB).
// Both runs happen in one process, one after the other; the result is the ratio.
//
//   build/bench/save_stall [--steps N] [--save_steps N] [--dir DIR]

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>

#include <torch/torch.h>
#include <trainer/trainer.h>

namespace {

struct Result {
  double stall_per_save;
  double train_seconds;
  int64_t saves;
};

Result run(bool async, const std::string& dir, int64_t steps, int64_t save_steps) {
  std::filesystem::remove_all(dir);
  trainer::set_seed(0);
  const int64_t width = 4096;  // three 4096x4096 layers: 50.3M parameters
  auto model = trainer::wrap_module(torch::nn::Sequential(torch::nn::Linear(width, width), torch::nn::ReLU(),
                                                          torch::nn::Linear(width, width), torch::nn::ReLU(),
                                                          torch::nn::Linear(width, width)));
  auto x = torch::randn({64, width});
  auto data = std::make_shared<trainer::TensorDataset>(x, torch::randint(0, width, {64}));
  trainer::TrainingArguments args;
  args.output_dir = dir;
  args.per_device_train_batch_size = 4;
  args.max_steps = steps;
  args.save_steps = static_cast<double>(save_steps);
  args.save_total_limit = 1;
  args.save_async = async;
  args.logging_steps = 1000;
  args.disable_tqdm = true;
  args.use_cpu = true;
  trainer::Trainer t(model, args, data);
  const auto start = std::chrono::steady_clock::now();
  t.train();
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::filesystem::remove_all(dir);
  return {t.save_stall_seconds() / static_cast<double>(t.saves()), seconds, t.saves()};
}

}  // namespace

int main(int argc, char** argv) {
  int64_t steps = 12, save_steps = 4;
  std::string dir = (std::filesystem::temp_directory_path() / "trainer-save-stall-bench").string();
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--steps")
      steps = std::stoll(argv[i + 1]);
    else if (flag == "--save_steps")
      save_steps = std::stoll(argv[i + 1]);
    else if (flag == "--dir")
      dir = argv[i + 1];
  }
  const Result sync = run(false, dir, steps, save_steps);
  const Result async = run(true, dir, steps, save_steps);
  std::printf("model: 50.3M parameters (AdamW), %lld steps, a save every %lld steps (%lld saves)\n", (long long)steps,
              (long long)save_steps, (long long)sync.saves);
  std::printf("%-10s %18s %16s\n", "mode", "stall per save (s)", "train total (s)");
  std::printf("%-10s %18.3f %16.2f\n", "sync", sync.stall_per_save, sync.train_seconds);
  std::printf("%-10s %18.3f %16.2f\n", "async", async.stall_per_save, async.train_seconds);
  std::printf("async stall / sync stall = %.3f\n", async.stall_per_save / sync.stall_per_save);
  return 0;
}
