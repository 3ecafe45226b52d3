// CodeCarbon (`--report_to codecarbon`), declared once for the registry (registry.h).
#include "trainer/integrations/codecarbon/codecarbon_callback.h"
#include "trainer/integrations/registry.h"

namespace trainer {

std::vector<Integration> codecarbon_integrations() {
  Integration i;
  i.name = "codecarbon";
  i.make = [] { return std::make_shared<CodeCarbonCallback>(); };
  i.summary = "energy and emissions in OUTPUT_DIR/emissions.csv, as CodeCarbon writes it";
  i.settings = "CODECARBON_* and .codecarbon.config (measure_power_secs, pue, country_iso_code, ...)";
  i.position = 30;
  return {i};
}

}  // namespace trainer
