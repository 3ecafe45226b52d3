// Micro-benchmarks (Google Benchmark): optimizer steps, gradient clipping, callback dispatch and
// subnormal arithmetic, the checkpoint manifest's checksum, each beside the baseline it is judged against, measured in
// the same run.
//
//   build/bench/micro_bench [--benchmark_filter=REGEX]

#include <benchmark/benchmark.h>

#include <cstring>
#include <vector>

#include <torch/torch.h>
#include <trainer/trainer.h>

namespace {

// ---- optimizer step: LibTorch's AdamW vs the fused one, and a copy of the same bytes ------------

struct Params {
  std::vector<torch::Tensor> tensors;
  explicit Params(int64_t total) {
    // A model-like split: a few large matrices and many small vectors.
    int64_t left = total;
    while (left > 0) {
      const int64_t n = std::min<int64_t>(left, std::max<int64_t>(total / 4, 1));
      auto p = torch::randn({n}).set_requires_grad(true);
      p.mutable_grad() = torch::randn({n}) * 1e-3;
      tensors.push_back(p);
      left -= n;
      for (int i = 0; i < 8 && left > 0; ++i) {
        const int64_t m = std::min<int64_t>(left, 256);
        auto b = torch::randn({m}).set_requires_grad(true);
        b.mutable_grad() = torch::randn({m}) * 1e-3;
        tensors.push_back(b);
        left -= m;
      }
    }
  }
};

template <typename Optimizer>
void BM_AdamWStep(benchmark::State& state) {
  Params params(state.range(0));
  Optimizer opt(params.tensors, torch::optim::AdamWOptions(1e-3).weight_decay(0.01));
  opt.step();  // allocate the moments outside the timing
  for (auto _ : state) opt.step();
  // Bytes the step must move: read p, g, m, v and write p, m, v (float32).
  state.SetBytesProcessed(state.iterations() * state.range(0) * 7 * 4);
}
BENCHMARK_TEMPLATE(BM_AdamWStep, torch::optim::AdamW)
    ->Arg(1 << 20)
    ->Arg(10 << 20)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK_TEMPLATE(BM_AdamWStep, trainer::FusedAdamW)
    ->Arg(1 << 20)
    ->Arg(10 << 20)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

// The memory-bandwidth baseline: copying as many bytes as an AdamW step moves (7 floats per
// parameter: read 3.5, write 3.5), with every core, as the fused step uses them.
void BM_CopySameBytes(benchmark::State& state) {
  const int64_t n = state.range(0) * 7 / 2;
  auto src = torch::randn({n});
  auto dst = torch::empty({n});
  for (auto _ : state) {
    dst.copy_(src);
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(state.iterations() * n * 2 * 4);
}
BENCHMARK(BM_CopySameBytes)->Arg(1 << 20)->Arg(10 << 20)->Unit(benchmark::kMillisecond)->UseRealTime();

// ---- checkpoint manifest: the CRC-32 a save adds, against the encoding every save already does ----

trainer::NamedTensors weights_of(int64_t params) { return {{"weight", torch::randn({params})}}; }

void BM_SafetensorsEncode(benchmark::State& state) {
  const auto weights = weights_of(state.range(0));
  for (auto _ : state) benchmark::DoNotOptimize(trainer::safetensors_bytes(weights));
  state.SetBytesProcessed(state.iterations() * state.range(0) * 4);
}
BENCHMARK(BM_SafetensorsEncode)->Arg(10 << 20)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_ManifestChecksum(benchmark::State& state) {
  const std::string bytes = trainer::safetensors_bytes(weights_of(state.range(0)));
  for (auto _ : state) {
    trainer::CheckpointManifest manifest;
    manifest.add("model.safetensors", bytes);
    benchmark::DoNotOptimize(manifest);
  }
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(bytes.size()));
}
BENCHMARK(BM_ManifestChecksum)->Arg(10 << 20)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_SgdMomentumStep(benchmark::State& state) {
  Params params(state.range(0));
  trainer::FusedSGD opt(params.tensors, torch::optim::SGDOptions(1e-2).momentum(0.9));
  opt.step();
  for (auto _ : state) opt.step();
  state.SetBytesProcessed(state.iterations() * state.range(0) * 5 * 4);
}
BENCHMARK(BM_SgdMomentumStep)->Arg(10 << 20)->Unit(benchmark::kMillisecond)->UseRealTime();

// ---- gradient clipping: LibTorch's clip_grad_norm_ vs the one-pass version ------------------------

void BM_ClipLibTorch(benchmark::State& state) {
  Params params(state.range(0));
  for (auto _ : state) benchmark::DoNotOptimize(torch::nn::utils::clip_grad_norm_(params.tensors, 1e9));
}
void BM_ClipFused(benchmark::State& state) {
  Params params(state.range(0));
  std::vector<torch::Tensor> grads;
  for (auto& p : params.tensors) grads.push_back(p.grad());
  for (auto _ : state) benchmark::DoNotOptimize(trainer::clip_grad_norm_fused(grads, 1e9));
}
BENCHMARK(BM_ClipLibTorch)->Arg(10 << 20)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_ClipFused)->Arg(10 << 20)->Unit(benchmark::kMillisecond)->UseRealTime();

// ---- callback dispatch: cost per event per callback that does nothing ------------------------------

struct Nothing : trainer::TrainerCallback {};

void BM_DispatchStepEnd(benchmark::State& state) {
  trainer::CallbackHandler handler;
  for (int64_t i = 0; i < state.range(0); ++i) handler.add_callback(std::make_shared<Nothing>());
  trainer::TrainingArguments args;
  trainer::TrainerState s;
  trainer::TrainerControl c;
  for (auto _ : state) {
    handler.on_step_end(args, s, c);
    benchmark::ClobberMemory();
  }
  state.counters["ns_per_callback"] = benchmark::Counter(static_cast<double>(state.iterations() * state.range(0)),
                                                         benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}
BENCHMARK(BM_DispatchStepEnd)->Arg(1)->Arg(8)->Arg(64);

// ---- subnormal floats: elementwise work with flush-to-zero off and on ------------------------------

void BM_Subnormal(benchmark::State& state) {
  const bool ftz = state.range(0) != 0;
  at::globalContext().setFlushDenormal(ftz);
  auto a = torch::full({1 << 20}, 1e-39f);  // subnormal
  auto b = torch::full({1 << 20}, 0.5f);
  for (auto _ : state) {
    a.mul_(b).add_(1e-40f);
    benchmark::ClobberMemory();
    a.fill_(1e-39f);
  }
  at::globalContext().setFlushDenormal(false);
  state.SetLabel(ftz ? "flush-to-zero on" : "flush-to-zero off");
}
BENCHMARK(BM_Subnormal)->Arg(0)->Arg(1)->Unit(benchmark::kMicrosecond)->UseRealTime();

}  // namespace

int main(int argc, char** argv) {
  trainer::set_log_level(trainer::LogLevel::error);  // the dispatch benchmark adds one class many times
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
