// Trackio (`--report_to trackio`), declared once for the registry (registry.h).
#include "trainer/integrations/registry.h"
#include "trainer/integrations/trackio/trackio_tracker.h"

namespace trainer {

std::vector<Integration> trackio_integrations() {
  Integration i;
  i.name = "trackio";
  i.make = make_trackio_callback;
  // Joins `all` only with TRACKIO_DIR (else `all` would write into ~/.cache/huggingface).
  i.in_all = trackio_in_all;
  i.summary = "a run in trackio's project database (SQLite) for its dashboard";
  i.settings = "TRACKIO_DIR, TRACKIO_PROJECT, TRACKIO_SPACE_ID, HF_HOME";
  i.position = 100;
  return {i};
}

}  // namespace trainer
