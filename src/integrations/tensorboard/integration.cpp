// TensorBoard (`--report_to tensorboard`), declared once for the registry (registry.h).
#include "trainer/integrations/registry.h"
#include "trainer/integrations/tensorboard/tensorboard_callback.h"

namespace trainer {

std::vector<Integration> tensorboard_integrations() {
  Integration i;
  i.name = "tensorboard";
  i.make = [] { return std::make_shared<TensorBoardCallback>(); };
  i.summary = "event files under --logging_dir (OUTPUT_DIR/runs/...) for TensorBoard";
  i.settings = "TENSORBOARD_LOGGING_DIR";
  i.position = 20;
  return {i};
}

}  // namespace trainer
