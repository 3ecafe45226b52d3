// The HTML report (`--report_to report`), declared once for the registry (registry.h).
#include "trainer/integrations/registry.h"
#include "trainer/integrations/report/report_callback.h"

namespace trainer {

std::vector<Integration> report_integrations() {
  Integration i;
  i.name = "report";
  i.make = [] { return std::make_shared<ReportCallback>(); };
  i.summary = "OUTPUT_DIR/report.html: charts of every logged metric, one self-contained page";
  i.position = 50;
  return {i};
}

}  // namespace trainer
