// Neptune (`--report_to neptune`), declared once for the registry (registry.h).
#include "trainer/integrations/neptune/neptune_callback.h"
#include "trainer/integrations/registry.h"

namespace trainer {

std::vector<Integration> neptune_integrations() {
  Integration i;
  i.name = "neptune";
  i.make = make_neptune_callback;
  // Deprecated (the hosted service shut down on 2026-03-05): used only when named, as the original.
  i.in_all = [] { return false; };
  i.summary = "a Neptune run's offline operation log (neptune sync); deprecated";
  i.settings = "NEPTUNE_PROJECT, NEPTUNE_API_TOKEN, NEPTUNE_MODE, NEPTUNE_DATA_DIRECTORY, NEPTUNE_LOG_CHECKPOINTS";
  i.position = 120;
  return {i};
}

}  // namespace trainer
