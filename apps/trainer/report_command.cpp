#include "report_command.h"

#include <iostream>

#include "trainer/core/argument_parser.h"
#include "trainer/core/exit_codes.h"
#include "trainer/integrations/report/html_report.h"

namespace trainer::cli {

int run_report(const std::vector<std::string>& args) {
  std::string output_dir;
  ArgumentParser parser("trainer report",
                        "Rebuilds OUTPUT_DIR/report.html (plots of loss, metrics, learning rate and grad norm; final\n"
                        "metrics; best checkpoint; arguments) from OUTPUT_DIR/trainer_state.json, or from the newest\n"
                        "checkpoint-N/trainer_state.json when the run was stopped early.");
  parser.add_positional("OUTPUT_DIR", &output_dir, "the run's --output_dir");
  try {
    parser.parse(args);
    if (parser.help_requested()) {
      std::cout << parser.help();
      return kOk;
    }
    if (output_dir.empty()) throw ArgumentError("expected OUTPUT_DIR (the run's --output_dir), got ''");
  } catch (const ArgumentError& e) {
    std::cerr << "trainer report: error: " << e.command_line_message() << "\n(trainer report --help shows the usage)\n";
    return kUsageError;
  }
  try {
    std::cout << write_report_from_run(output_dir).string() << "\n";
    return kOk;
  } catch (const std::exception& e) {
    std::cerr << "trainer report: error: " << e.what() << "\n";
    return kRuntimeError;
  }
}

}  // namespace trainer::cli
