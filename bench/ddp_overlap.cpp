// How much of the gradient all-reduce the backward pass hides. Run as each rank of a job (the
// launcher's variables set; bench/distributed.sh starts two). Per iteration of the CNN on a batch
// of 32, in one process:
//   local     forward + backward, no communication (with the main thread's CPU time and the
//             process's minor page faults, as the overlap phase)
//   synced    forward + backward, then an all-reduce of one number: what every synchronous step pays
//             for the slower rank, with nothing to send
//   after     forward + backward, then the gradients' all-reduce: a loop that reduces after backward
//   overlap   forward + backward with the GradientReducer armed, until the averaged gradients are in
//   ahead     the all-reduce started before a forward + backward without the reducer and waited for
//             after it: the most this machine can hide (the control)
//   control   the Trainer's per-step agreement on TrainerControl's flags (six numbers all-reduced)
//   reduce    the gradients' all-reduce alone, back to back
// The all-reduce costs a step `after - synced`; of that, the reducer hides
//   hidden = (after - overlap) / (after - synced)
// (1: it costs nothing; 0: none of it is hidden; outside [0, 1]: the machine's noise), and the
// control `ahead` in place of `overlap` tells how much can be hidden at all. Every phase pays the
// same per-step wait for the slower rank, so that it cancels. The phases take turns in ROUNDS rounds
// of ITERATIONS each; each round's fractions come from its own, adjacent phases, and the figures
// printed are the medians over rounds, with the range of the fractions. Prints one JSON line on
// rank 0.
//   ddp_overlap [ITERATIONS] [BUCKET_KIB] [ROUNDS]   (the first bucket: the smaller of BUCKET_KIB and DDP's 1 MiB)

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <functional>
#include <string>
#include <vector>

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
  // Without find_unused_parameters: the gradients' all-reduce only, as `after` sends (what agreeing
  // on unused parameters costs, bench/distributed.sh measures end to end).
  GradientReducer reducer(
      *group, params,
      {bucket_bytes, std::min(bucket_bytes, GradientReducer::kFirstBucketBytes), /*find_unused_parameters=*/false});
  const auto gradients = flat_gradients();

  Phase local{step};
  Phase synced{[&] {
    step();
    group->all_reduce({torch::zeros({1})});
  }};
  Phase after{[&] {
    step();
    group->all_reduce({flat_gradients()});
  }};
  Phase overlap{[&] {
    reducer.prepare_for_backward();
    step();
    reducer.finish_backward();
  }};
  Phase ahead{[&] {
    auto pending = group->all_reduce_async(gradients);
    step();
    pending->wait();
  }};
  Phase control{[&] { group->all_reduce_values({0, 0, 0, 0, 0, 0}, ProcessGroup::Reduce::max); }};
  Phase reduce{[&] { group->all_reduce({flat_gradients()}); }};
  std::vector<Phase*> phases = {&local, &synced, &after, &overlap, &ahead, &control, &reduce};
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
  }
  auto hidden = [&](const Phase& with) {  // per round, then the median and the range
    std::vector<double> v;
    for (int r = 0; r < rounds; ++r)
      v.push_back((after.seconds[r] - with.seconds[r]) / (after.seconds[r] - synced.seconds[r]));
    const auto [low, high] = std::minmax_element(v.begin(), v.end());
    char text[96];
    std::snprintf(text, sizeof text, "{\"median\": %.3f, \"low\": %.3f, \"high\": %.3f}", median(v), *low, *high);
    return std::string(text);
  };
  if (process.is_world_process_zero())
    std::printf(
        "{\"rounds\": %d, \"local_ms\": %.3f, \"synced_ms\": %.3f, \"after_ms\": %.3f, \"overlap_ms\": %.3f, "
        "\"ahead_ms\": %.3f, \"reduce_ms\": %.3f, \"control_flags_ms\": %.3f, \"hidden_fraction\": %s, "
        "\"hidden_when_started_ahead\": %s, \"buckets\": %zu, \"started_during_backward\": %zu, "
        "\"local_cpu_ms\": %.3f, \"overlap_cpu_ms\": %.3f, \"local_page_faults\": %.0f, \"overlap_page_faults\": "
        "%.0f}\n",
        rounds, local.ms(), synced.ms(), after.ms(), overlap.ms(), ahead.ms(), reduce.ms(), control.ms(),
        hidden(overlap).c_str(), hidden(ahead).c_str(), reducer.bucket_count(),
        reducer.buckets_started_during_backward(), local.cpu_ms(), overlap.cpu_ms(), median(local.faults),
        median(overlap.faults));
  return 0;
}
