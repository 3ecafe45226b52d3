#include "trainer/integrations/builtin_integrations.h"

#include "trainer/core/checkpoint_source.h"
#include "trainer/core/report_to.h"

namespace trainer {

void install_builtin_integrations() {
  set_report_to_resolver(integration_callbacks);
  for (const Integration& i : registered_integrations())
    if (i.checkpoint_source) register_checkpoint_source(i.checkpoint_source);
}

}  // namespace trainer
