#pragma once
// `trainer sync OUTPUT_DIR`: sends what a run's remote trackers left unsent, and replays a run's
// log_history into trackers it did not use (`--report_to mlflow`).

#include <string>
#include <vector>

namespace trainer::cli {

int run_sync(const std::vector<std::string>& args);

}  // namespace trainer::cli
