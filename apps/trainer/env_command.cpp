#include "env_command.h"

#include <cstdio>
#include <cstdlib>

#include <trainer/torch/runtime_environment.h>

#include "trainer/core/argument_parser.h"
#include "trainer/core/exit_codes.h"

namespace trainer::cli {

int run_env(const std::vector<std::string>& args) {
  ArgumentParser parser("trainer env",
                        "Prints the versions, CPU, threads, BLAS kernel and devices a bug report needs.");
  try {
    parser.parse(args);
  } catch (const ArgumentError& e) {
    std::fprintf(stderr, "trainer env: error: %s (it takes no arguments)\n", e.command_line_message().c_str());
    return kUsageError;
  }
  if (parser.help_requested()) {
    std::fputs(parser.help().c_str(), stdout);
    return kOk;
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
