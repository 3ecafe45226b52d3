#include "env_command.h"

#include <cstdio>
#include <cstdlib>

#include <trainer/torch/runtime_environment.h>

#include "train_command.h"

namespace trainer::cli {

int run_env(const std::vector<std::string>& args) {
  if (!args.empty()) {
    std::fprintf(stderr, "trainer env: takes no arguments\n");
    return kUsageError;
  }
  const auto env = RuntimeEnvironment::detect();
  std::printf("Copy and paste the text below into your bug report.\n\n");
  for (const auto& [key, value] : env.describe()) std::printf("- %s: %s\n", key.c_str(), value.c_str());
  for (const auto& hint : machine_performance_hints(env)) std::printf("\nPerformance hint: %s\n", hint.c_str());
  for (const auto& idea : thread_tuning_suggestions(env, std::getenv("OMP_NUM_THREADS") != nullptr))
    std::printf("\nThreads: %s\n", idea.c_str());
  return kOk;
}

}  // namespace trainer::cli
