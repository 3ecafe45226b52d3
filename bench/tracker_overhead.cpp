// What the local trackers cost the training loop, measured in one process:
//   build/bench/tracker_overhead MODEL ROUNDS STEPS
// Each round trains STEPS steps with --report_to none and STEPS steps with every local tracker
// (dvclive, tensorboard, codecarbon, log_history, report), the order alternating by round, on
// the same model and data, logging every 10 steps. Pairs that ran seconds apart share the
// machine's state, so the median of the per-round ratios is steadier than comparing processes.
// Also reported, per second of training: the CPU time the training thread spends inside the
// trackers' events and the CPU time of their writer threads (named "w:<tracker>"), which on a
// machine with few cores is time the training threads may lose. These two are steady where steps
// per second on a shared machine are not.
// TRACKERS="name ..." measures those trackers instead of all of them (remote ones too: mlflow with
// MLFLOW_TRACKING_URI set, wandb, comet_ml, trackio, neptune, flyte: see bench/remote_trackers.sh).
// BENCH_SAVE_STEPS=N saves a checkpoint every N steps in both arms; BENCH_FLYTE_CHECKPOINT_PATH is
// --flyte_checkpoint_path.
// Prints one JSON line.

#include <dirent.h>
#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <torch/torch.h>
#include <trainer/trainer.h>

namespace {

using Clock = std::chrono::steady_clock;
constexpr int64_t kWarmup = 20;

struct Timer : trainer::TrainerCallback {
  Clock::time_point warm, last;
  void on_step_end(const Args&, trainer::TrainerState& s, trainer::TrainerControl&,
                   trainer::CallbackContext&) override {
    if (s.global_step == kWarmup) warm = Clock::now();
    last = Clock::now();
  }
};

double thread_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

// Forwards every event to a tracker and adds up the CPU time the training thread spends in the
// events a tracker handles while steps run (logs, evaluations, saves).
struct Timed : trainer::TrainerCallback {
  explicit Timed(std::shared_ptr<trainer::TrainerCallback> inner) : inner(std::move(inner)) {}
  std::shared_ptr<trainer::TrainerCallback> inner;
  double seconds = 0;
  using S = trainer::TrainerState;
  using C = trainer::TrainerControl;
  using X = trainer::CallbackContext;
  template <typename F>
  void timed(F f) {
    const double t0 = thread_cpu_seconds();
    f();
    seconds += thread_cpu_seconds() - t0;
  }
  // Once a run, outside the measured steps: forwarded, not timed.
  void on_init_end(const Args& a, S& s, C& c, X& x) override { inner->on_init_end(a, s, c, x); }
  void on_train_begin(const Args& a, S& s, C& c, X& x) override { inner->on_train_begin(a, s, c, x); }
  void on_train_end(const Args& a, S& s, C& c, X& x) override { inner->on_train_end(a, s, c, x); }
  void on_log(const Args& a, S& s, C& c, X& x) override {
    timed([&] { inner->on_log(a, s, c, x); });
  }
  void on_evaluate(const Args& a, S& s, C& c, X& x) override {
    timed([&] { inner->on_evaluate(a, s, c, x); });
  }
  void on_save(const Args& a, S& s, C& c, X& x) override {
    timed([&] { inner->on_save(a, s, c, x); });
  }
  void on_epoch_begin(const Args& a, S& s, C& c, X& x) override { inner->on_epoch_begin(a, s, c, x); }
  void on_epoch_end(const Args& a, S& s, C& c, X& x) override { inner->on_epoch_end(a, s, c, x); }
  void on_step_begin(const Args& a, S& s, C& c, X& x) override { inner->on_step_begin(a, s, c, x); }
  void on_step_end(const Args& a, S& s, C& c, X& x) override { inner->on_step_end(a, s, c, x); }
};

// CPU seconds of this process's threads whose name starts with "w:" (the integrations' writers),
// by thread name.
std::map<std::string, double> writer_thread_cpu_seconds() {
  std::map<std::string, double> out;
  DIR* dir = opendir("/proc/self/task");
  if (!dir) return out;
  while (dirent* e = readdir(dir)) {
    if (e->d_name[0] == '.') continue;
    std::ifstream in(std::string("/proc/self/task/") + e->d_name + "/stat");
    std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const auto open = stat.find('('), close = stat.rfind(')');
    if (open == std::string::npos || close == std::string::npos) continue;
    if (stat.compare(open + 1, 2, "w:") != 0) continue;
    // The thread's CPU clock, in nanoseconds (the tick counts in /proc are 10 ms coarse). Linux
    // numbers a thread's clock from its id, as glibc's pthread_getcpuclockid does.
    const pid_t tid = static_cast<pid_t>(std::stol(e->d_name));
    const clockid_t clock = static_cast<clockid_t>((~static_cast<unsigned>(tid) << 3) | 6);  // per-thread, SCHED
    timespec ts{};
    if (clock_gettime(clock, &ts) != 0) continue;
    out[stat.substr(open + 1, close - open - 1)] +=
        static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
  }
  closedir(dir);
  return out;
}

struct Result {
  double steps_per_second;
  std::map<std::string, double> writer_cpu_per_second;
  double loop_cpu_per_second;  // the training thread's time inside the trackers' events
};

Result run(std::shared_ptr<trainer::Model> model, std::shared_ptr<trainer::TensorDataset> data, int64_t steps,
           const std::vector<std::string>& report_to) {
  trainer::TrainingArguments args;
  args.output_dir = "/tmp/trainer-tracker-bench/run";
  args.per_device_train_batch_size = 32;
  args.learning_rate = 1e-3;
  args.max_steps = steps;
  args.save_strategy = trainer::SaveStrategy::no;
  if (const char* every = std::getenv("BENCH_SAVE_STEPS")) {  // both arms save (flyte syncs checkpoints)
    args.save_strategy = trainer::SaveStrategy::steps;
    args.save_steps = std::atof(every);
    args.save_total_limit = 2;
  }
  if (const char* dest = std::getenv("BENCH_FLYTE_CHECKPOINT_PATH")) args.flyte_checkpoint_path = dest;
  args.logging_steps = 10;
  args.report_to = {"none"};       // the trackers are added below, each wrapped in a Timed
  args.tracker_flush_timeout = 1;  // a remote tracker's end-of-run wait is not part of the steps measured
  auto timer = std::make_shared<Timer>();
  std::vector<std::shared_ptr<trainer::TrainerCallback>> callbacks = {timer};
  std::vector<std::shared_ptr<Timed>> trackers;
  for (auto& cb : trainer::integration_callbacks(report_to)) {
    trackers.push_back(std::make_shared<Timed>(cb));
    callbacks.push_back(trackers.back());
  }
  trainer::Trainer t(model, args, data, nullptr, callbacks);
  t.train();
  const double seconds = std::chrono::duration<double>(timer->last - timer->warm).count();
  auto cpu = writer_thread_cpu_seconds();
  for (auto& [name, s] : cpu) s /= seconds;
  double loop = 0;
  for (const auto& tracker : trackers) loop += tracker->seconds;
  return {static_cast<double>(steps - kWarmup) / seconds, cpu, loop / seconds};
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: tracker_overhead mlp|cnn ROUNDS STEPS\n");
    return 2;
  }
  const std::string model_name = argv[1];
  const int rounds = std::stoi(argv[2]);
  const int64_t steps = std::stoll(argv[3]);
  std::filesystem::create_directories("/tmp/trainer-tracker-bench");
  std::filesystem::current_path("/tmp/trainer-tracker-bench");  // dvclive/ goes here
  trainer::set_seed(42);
  auto data = trainer::load_fashion_mnist("train");
  auto model = trainer::make_builtin_model(model_name);
  const std::vector<std::string> none = {};
  std::vector<std::string> all = {"dvclive", "tensorboard", "codecarbon", "log_history", "report"};
  if (const char* only = std::getenv("TRACKERS")) {  // e.g. TRACKERS="tensorboard dvclive", to find a cost
    std::istringstream names(only);
    all.assign(std::istream_iterator<std::string>(names), std::istream_iterator<std::string>());
  }
  run(model, data, steps, none);  // warm the allocator and the caches
  std::vector<double> off, on, ratios;
  std::map<std::string, std::vector<double>> writer_cpu;
  std::vector<double> loop_cpu;
  for (int r = 0; r < rounds; ++r) {
    Result a{}, b{};
    if (r % 2 == 0) {
      a = run(model, data, steps, none);
      b = run(model, data, steps, all);
    } else {
      b = run(model, data, steps, all);
      a = run(model, data, steps, none);
    }
    off.push_back(a.steps_per_second);
    on.push_back(b.steps_per_second);
    ratios.push_back(b.steps_per_second / a.steps_per_second);
    for (const auto& [name, s] : b.writer_cpu_per_second) writer_cpu[name].push_back(s);
    loop_cpu.push_back(b.loop_cpu_per_second);
  }
  std::string cpu_json;
  for (const auto& [name, values] : writer_cpu)
    cpu_json += (cpu_json.empty() ? "\"" : ", \"") + name + "\": " + std::to_string(median(values));
  std::printf(
      "{\"model\": \"%s\", \"rounds\": %d, \"none_steps_per_second\": %.2f, \"trackers_steps_per_second\": %.2f, "
      "\"ratio\": %.4f, \"ratio_min\": %.4f, \"ratio_max\": %.4f, \"loop_cpu_per_second\": %.6f, "
      "\"writer_cpu_per_second\": {%s}}\n",
      model_name.c_str(), rounds, median(off), median(on), median(ratios),
      *std::min_element(ratios.begin(), ratios.end()), *std::max_element(ratios.begin(), ratios.end()),
      median(loop_cpu), cpu_json.c_str());
  return 0;
}
