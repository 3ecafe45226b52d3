// ClearML (`--report_to clearml`), declared once for the registry (registry.h).
#include "trainer/integrations/clearml/clearml_tracker.h"
#include "trainer/integrations/registry.h"
#include "trainer/tracking/record_sender.h"

namespace trainer {

std::vector<Integration> clearml_integrations() {
  Integration i;
  i.name = "clearml";
  i.make = make_clearml_callback;
  i.in_all = clearml_in_all;
  i.resend = clearml_sender_for_journal;
  i.summary = "a ClearML task, online (its API server) or offline (a session zip for import_offline_session)";
  i.settings =
      "CLEARML_API_HOST, CLEARML_API_ACCESS_KEY, CLEARML_API_SECRET_KEY, CLEARML_PROJECT, CLEARML_TASK, "
      "CLEARML_LOG_MODEL, CLEARML_OFFLINE_MODE, CLEARML_CONFIG_FILE (clearml.conf)";
  i.position = 90;
  return {i};
}

}  // namespace trainer
