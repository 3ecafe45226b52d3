#include "report_command.h"

#include <iostream>

#include "train_command.h"
#include "trainer/integrations/report/html_report.h"

namespace trainer::cli {

int run_report(const std::vector<std::string>& args) {
  const char* usage =
      "usage: trainer report OUTPUT_DIR\n"
      "Rebuilds OUTPUT_DIR/report.html (plots of loss, metrics, learning rate and grad norm; final\n"
      "metrics; best checkpoint; arguments) from OUTPUT_DIR/trainer_state.json, or from the newest\n"
      "checkpoint-N/trainer_state.json when the run was stopped early.\n";
  if (args.size() == 1 && (args[0] == "--help" || args[0] == "-h")) {
    std::cout << usage;
    return kOk;
  }
  if (args.size() != 1 || args[0].empty() || args[0][0] == '-') {
    std::cerr << "trainer report: error: expected one argument, the run's output directory\n" << usage;
    return kUsageError;
  }
  try {
    std::cout << write_report_from_run(args[0]).string() << "\n";
    return kOk;
  } catch (const std::exception& e) {
    std::cerr << "trainer report: error: " << e.what() << "\n";
    return kRuntimeError;
  }
}

}  // namespace trainer::cli
