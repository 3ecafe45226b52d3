// How much of the gradient all-reduce the backward pass hides. Run as each rank of a job (the
// launcher's variables set; bench/distributed.sh starts two). Per iteration of the CNN on a batch
// of 32, in one process:
//   local     forward + backward, no communication
//   reduce    the same gradients' all-reduce alone, after backward (what a post-backward loop pays)
//   overlap   forward + backward with the GradientReducer armed, until the averaged gradients are in
//   compute   the all-reduce started before as long a loop of matrix products: what can be hidden here
//   step      the all-reduce started before a forward + backward without the reducer
//   control   the Trainer's per-step agreement on TrainerControl's flags (six numbers all-reduced)
// with the main thread's CPU time and the process's minor page faults per iteration of the local and
// overlap phases (the time a phase spends neither computing nor faulting is waiting), and
// hidden = (local + reduce - X) / reduce, clamped to [0, 1], for X = overlap, compute and step: 1
// when the all-reduce costs nothing, 0 when it all comes after. The phases take turns in ROUNDS
// rounds of ITERATIONS each, and each figure is the median over rounds, so that the drift of a
// shared machine falls on every phase alike. Prints one JSON line on rank 0.
//   ddp_overlap [ITERATIONS] [BUCKET_KIB] [ROUNDS]   (the first bucket: the smaller of BUCKET_KIB and DDP's 1 MiB)

#include <algorithm>
#include <functional>
#include <string>
#include <vector>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>

#include <sys/resource.h>

#include <torch/torch.h>

#include "trainer/core/process_info.h"
#include "trainer/torch/distributed/gradient_reducer.h"
#include "trainer/torch/distributed/process_group.h"
#include "trainer/torch/models.h"

using namespace trainer;
using Clock = std::chrono::steady_clock;

namespace {

double thread_cpu_seconds() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) * 1e-9;
}

double minor_faults() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_minflt);
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// One phase: its body and, per round, seconds, main-thread CPU seconds and page faults per iteration.
struct Phase {
  std::function<void()> body;
  std::vector<double> seconds, cpu, faults;
  double ms() const { return median(seconds) * 1e3; }
  double cpu_ms() const { return median(cpu) * 1e3; }
};

}  // namespace

int main(int argc, char** argv) {
  const int iterations = argc > 1 ? std::atoi(argv[1]) : 10;
  const int64_t bucket_bytes = (argc > 2 ? std::atoll(argv[2]) : 25 * 1024) << 10;
  const int rounds = argc > 3 ? std::atoi(argv[3]) : 5;
  const auto process = ProcessInfo::from_environment();
  if (!process.distributed()) {
    std::fprintf(stderr, "ddp_overlap: run it as every rank of a job of 2 or more (bench/distributed.sh starts two)\n");
    return 2;
  }
  auto group = ProcessGroup::join(process, DdpBackend::gloo, std::chrono::seconds(60), torch::kCPU);
  torch::manual_seed(0);
  auto model = make_builtin_model("cnn", 784, 10);
  std::vector<torch::Tensor> params;
  for (auto& [name, p] : model->named_parameters()) params.push_back(p);
  const auto inputs = torch::randn({32, 1, 28, 28});
  const auto labels = torch::randint(0, 10, {32}, torch::kLong);
  auto step = [&] {
    for (auto& p : params) p.mutable_grad() = torch::Tensor();
    torch::nn::functional::cross_entropy(model->forward(inputs), labels).backward();
  };
  step();
  auto flat_gradients = [&] {
    std::vector<torch::Tensor> flat;
    for (auto& p : params) flat.push_back(p.grad().reshape({-1}));
    return torch::cat(flat);
  };
  const auto gradients = flat_gradients();
  GradientReducer reducer(*group, params, {bucket_bytes, std::min(bucket_bytes, GradientReducer::kFirstBucketBytes)});
  double compute_seconds = 0.02;  // as long as a forward + backward: set from the first round's local phase
  auto a = torch::randn({256, 256}), b = torch::randn({256, 256}) * 1e-2;

  Phase local{step}, reduce{[&] { group->all_reduce({flat_gradients()}); }};
  Phase overlap{[&] {
    reducer.prepare_for_backward();
    step();
    reducer.finish_backward();
  }};
  // The same all-reduce started before as long a loop of matrix products, and before a forward +
  // backward without the reducer: how much of it this machine can hide at all.
  Phase compute{[&] {
    auto pending = group->all_reduce_async(gradients);
    for (const auto until = Clock::now() + std::chrono::duration<double>(compute_seconds); Clock::now() < until;)
      a = torch::mm(a, b).tanh_();
    pending->wait();
  }};
  Phase plain_step{[&] {
    auto pending = group->all_reduce_async(gradients);
    step();
    pending->wait();
  }};
  // The Trainer's per-step agreement on TrainerControl's flags: six numbers, all-reduced.
  Phase control{[&] { group->all_reduce_values({0, 0, 0, 0, 0, 0}, ProcessGroup::Reduce::max); }};
  std::vector<Phase*> phases = {&local, &reduce, &overlap, &compute, &plain_step, &control};
  for (auto* phase : phases) phase->body();  // warm-up
  for (int round = 0; round < rounds; ++round) {
    for (auto* phase : phases) {
      group->all_reduce({torch::zeros({1})});  // start together
      const auto start = Clock::now();
      const double cpu_start = thread_cpu_seconds(), faults_start = minor_faults();
      for (int i = 0; i < iterations; ++i) phase->body();
      phase->seconds.push_back(std::chrono::duration<double>(Clock::now() - start).count() / iterations);
      phase->cpu.push_back((thread_cpu_seconds() - cpu_start) / iterations);
      phase->faults.push_back((minor_faults() - faults_start) / iterations);
    }
    compute_seconds = median(local.seconds);
  }
  auto hidden = [&](const Phase& with) { return std::clamp((local.ms() + reduce.ms() - with.ms()) / reduce.ms(), 0.0, 1.0); };
  if (process.is_world_process_zero())
    std::printf("{\"local_ms\": %.3f, \"reduce_ms\": %.3f, \"overlap_ms\": %.3f, \"hidden_fraction\": %.3f, "
                "\"hidden_under_plain_compute\": %.3f, \"hidden_under_a_step_without_hooks\": %.3f, \"control_flags_ms\": %.3f, "
                "\"buckets\": %zu, \"started_during_backward\": %zu, \"exposed_wait_ms\": %.3f, \"local_cpu_ms\": %.3f, "
                "\"overlap_cpu_ms\": %.3f, \"local_page_faults\": %.0f, \"overlap_page_faults\": %.0f}\n",
                local.ms(), reduce.ms(), overlap.ms(), hidden(overlap), hidden(compute), hidden(plain_step), control.ms(),
                reducer.bucket_count(), reducer.buckets_started_during_backward(),
                reducer.exposed_wait().count() * 1e3 / (rounds * iterations + 1), local.cpu_ms(), overlap.cpu_ms(),
                median(local.faults), median(overlap.faults));
  return 0;
}
