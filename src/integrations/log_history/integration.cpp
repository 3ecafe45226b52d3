// The log_history files (`--report_to log_history`), declared once for the registry (registry.h).
#include "trainer/integrations/log_history/log_history_file_callback.h"
#include "trainer/integrations/registry.h"

namespace trainer {

std::vector<Integration> log_history_integrations() {
  Integration i;
  i.name = "log_history";
  i.make = [] { return std::make_shared<LogHistoryFileCallback>(); };
  i.summary = "OUTPUT_DIR/log_history.jsonl and log_history.csv, one row per log";
  i.position = 40;
  return {i};
}

}  // namespace trainer
