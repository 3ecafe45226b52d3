// Comet (`--report_to comet_ml`), declared once for the registry (registry.h).
#include "trainer/integrations/comet/comet_tracker.h"
#include "trainer/integrations/registry.h"
#include "trainer/tracking/record_sender.h"

namespace trainer {

std::vector<Integration> comet_integrations() {
  Integration i;
  i.name = "comet_ml";
  i.make = make_comet_callback;
  i.in_all = comet_in_all;
  i.resend = comet_sender_for_journal;
  i.summary = "a Comet experiment, online (its REST API) or offline (COMET_OFFLINE_DIRECTORY)";
  i.settings =
      "COMET_API_KEY, COMET_MODE, COMET_START_ONLINE, COMET_PROJECT_NAME, COMET_WORKSPACE, COMET_EXPERIMENT_KEY, "
      "COMET_OFFLINE_DIRECTORY, COMET_LOG_ASSETS, COMET_URL_OVERRIDE";
  i.position = 80;
  return {i};
}

}  // namespace trainer
