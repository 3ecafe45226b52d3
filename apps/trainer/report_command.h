#pragma once
// `trainer report OUTPUT_DIR`: rebuilds OUTPUT_DIR/report.html from a finished run's files.

#include <string>
#include <vector>

namespace trainer::cli {

int run_report(const std::vector<std::string>& args);

}  // namespace trainer::cli
