// DVCLive (`--report_to dvclive`), declared once for the registry (registry.h).
#include "trainer/integrations/dvclive/dvclive_callback.h"
#include "trainer/integrations/registry.h"

namespace trainer {

std::vector<Integration> dvclive_integrations() {
  Integration i;
  i.name = "dvclive";
  i.make = [] { return std::make_shared<DVCLiveCallback>(); };
  i.summary = "dvclive/ (params.yaml, metrics.json, plots) and dvc.yaml, as DVCLive writes them";
  i.settings = "HF_DVCLIVE_LOG_MODEL, DVCLIVE_RESUME";
  i.position = 10;
  return {i};
}

}  // namespace trainer
