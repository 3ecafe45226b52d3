// Weights & Biases (`--report_to wandb`), declared once for the registry (registry.h).
#include "trainer/integrations/registry.h"
#include "trainer/integrations/wandb/wandb_tracker.h"
#include "trainer/tracking/record_sender.h"

namespace trainer {

std::vector<Integration> wandb_integrations() {
  Integration i;
  i.name = "wandb";
  i.make = make_wandb_callback;
  i.in_all = wandb_in_all;
  i.resend = wandb_sender_for_journal;
  i.summary = "a W&B run, online (its API) or offline (wandb/offline-run-*/ for `wandb sync`)";
  i.settings =
      "WANDB_API_KEY, WANDB_MODE, WANDB_PROJECT, WANDB_ENTITY, WANDB_RUN_ID, WANDB_RESUME, WANDB_LOG_MODEL, "
      "WANDB_BASE_URL, WANDB_DIR, WANDB_DISABLED";
  i.position = 70;
  return {i};
}

}  // namespace trainer
