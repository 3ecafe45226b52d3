// The `trainer` program: `trainer train [FLAGS]`. See `trainer train --help`.

#include <cstdio>
#include <string>
#include <vector>

#include "env_command.h"
#include "report_command.h"
#include "sync_command.h"
#include "train_command.h"
#include "trainer/core/exit_codes.h"
#include "trainer/integrations/builtin_integrations.h"

namespace {

const char* kUsage =
    "usage: trainer <command> [FLAGS]\n"
    "\n"
    "commands:\n"
    "  train   train a model (Fashion-MNIST by default); `trainer train --help` lists every flag\n"
    "  report  rebuild OUTPUT_DIR/report.html from a run: `trainer report OUTPUT_DIR`\n"
    "  sync    send what a run's remote trackers left unsent: `trainer sync OUTPUT_DIR`\n"
    "          (or replay its log_history into a tracker: `trainer sync OUTPUT_DIR --report_to mlflow`)\n"
    "  env     print the versions, CPU, threads, BLAS kernel and devices a bug report needs\n"
    "\n"
    "exit status: 0 success, 1 runtime error (data, files), 2 bad arguments, 3 the loss diverged,\n"
    "             4 stopped by SIGTERM/SIGINT after saving a checkpoint (resume with --resume_from_checkpoint last),\n"
    "             5 data-parallel: another rank was lost or failed (the message names it)\n"
    "\n"
    "data-parallel: .venv/bin/torchrun --nproc_per_node N --no_python ./build/trainer train ... "
    "(docs/distributed.md)\n";

}  // namespace

int main(int argc, char** argv) {
  // The program composes the loop with the trackers: --report_to resolves through their registry.
  trainer::install_builtin_integrations();
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
    std::fputs(kUsage, args.empty() ? stderr : stdout);
    return args.empty() ? trainer::kUsageError : trainer::kOk;
  }
  const std::string command = args[0];
  args.erase(args.begin());
  if (command == "train") return trainer::cli::run_train(args);
  if (command == "report") return trainer::cli::run_report(args);
  if (command == "env") return trainer::cli::run_env(args);
  if (command == "sync") return trainer::cli::run_sync(args);
  std::fprintf(stderr, "trainer: unknown command '%s'\n\n%s", command.c_str(), kUsage);
  return trainer::kUsageError;
}
