// How much of the gradient all-reduce the backward pass hides. Run as each rank of a job (the
// launcher's variables set; bench/distributed.sh starts two). Per iteration of the CNN on a batch
// of 32, in one process:
//   local     forward + backward, no communication
//   reduce    the same gradients' all-reduce alone, after backward (what a post-backward loop pays)
//   overlap   forward + backward with the GradientReducer armed, until the averaged gradients are in
//   control   the Trainer's per-step agreement on TrainerControl's flags (six numbers all-reduced)
// with the main thread's CPU time and the process's minor page faults per iteration of the local and
// overlap phases (the time a phase spends neither computing nor faulting is waiting), and
// hidden = (local + reduce - overlap) / reduce, clamped to [0, 1]: 1 when the all-reduce costs the
// step nothing, 0 when it all comes after backward. Prints one JSON line on rank 0.
//   ddp_overlap [ITERATIONS] [BUCKET_KIB]   (the first bucket: the smaller of BUCKET_KIB and DDP's 1 MiB)

#include <algorithm>
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

int main(int argc, char** argv) {
  const int iterations = argc > 1 ? std::atoi(argv[1]) : 30;
  const int64_t bucket_bytes = (argc > 2 ? std::atoll(argv[2]) : 25 * 1024) << 10;
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
  auto thread_cpu = [] {
    timespec t{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) * 1e-9;
  };
  auto minor_faults = [] {
    rusage u{};
    getrusage(RUSAGE_SELF, &u);
    return static_cast<double>(u.ru_minflt);
  };
  double main_thread_cpu = 0, faults = 0;  // of the last phase measured, per iteration
  auto seconds_per = [&](auto&& body) {
    body();  // warm-up
    group->all_reduce({torch::zeros({1})});  // start together
    const auto start = Clock::now();
    const double cpu_start = thread_cpu(), faults_start = minor_faults();
    for (int i = 0; i < iterations; ++i) body();
    main_thread_cpu = (thread_cpu() - cpu_start) / iterations;
    faults = (minor_faults() - faults_start) / iterations;
    return std::chrono::duration<double>(Clock::now() - start).count() / iterations;
  };
  const double local = seconds_per(step);
  const double local_cpu = main_thread_cpu, local_faults = faults;
  const double reduce = seconds_per([&] {
    std::vector<torch::Tensor> flat;
    for (auto& p : params) flat.push_back(p.grad().reshape({-1}));
    group->all_reduce({torch::cat(flat)});
  });
  // The Trainer's per-step agreement on TrainerControl's flags: six numbers, all-reduced.
  const double control = seconds_per([&] { group->all_reduce_values({0, 0, 0, 0, 0, 0}, ProcessGroup::Reduce::max); });
  GradientReducer reducer(*group, params, bucket_bytes, std::min(bucket_bytes, GradientReducer::kFirstBucketBytes));
  const double overlap = seconds_per([&] {
    reducer.prepare_for_backward();
    step();
    reducer.finish_backward();
  });
  const double overlap_cpu = main_thread_cpu, overlap_faults = faults;
  const double hidden = std::clamp((local + reduce - overlap) / reduce, 0.0, 1.0);
  if (process.is_world_process_zero())
    std::printf("{\"local_ms\": %.3f, \"reduce_ms\": %.3f, \"control_flags_ms\": %.3f, \"overlap_ms\": %.3f, \"hidden_fraction\": %.3f, \"buckets\": %zu, \"started_during_backward\": %zu, "
                "\"exposed_wait_ms\": %.3f, \"local_cpu_ms\": %.3f, \"overlap_cpu_ms\": %.3f, \"local_page_faults\": %.0f, \"overlap_page_faults\": %.0f}\n",
                local * 1e3, reduce * 1e3, control * 1e3, overlap * 1e3, hidden, reducer.bucket_count(), reducer.buckets_started_during_backward(),
                reducer.exposed_wait().count() * 1e3 / (iterations + 1), local_cpu * 1e3, overlap_cpu * 1e3, local_faults, overlap_faults);
  return 0;
}
