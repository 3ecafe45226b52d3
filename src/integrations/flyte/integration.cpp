// Flyte (`--report_to flyte`), declared once for the registry (registry.h), with the checkpoint
// source a retried Flyte task resumes from (--flyte_prev_checkpoint).
#include "trainer/core/checkpoint_source.h"
#include "trainer/integrations/flyte/flyte_callback.h"
#include "trainer/integrations/registry.h"
#include "trainer/tracking/record_sender.h"

namespace trainer {
namespace {

// --flyte_prev_checkpoint: Flyte retries a task with the prefix its previous attempt synced to.
class FlyteCheckpointSource : public CheckpointSource {
 public:
  std::string name() const override { return "flyte"; }
  std::optional<std::filesystem::path> restore(const TrainingArguments& args) override {
    return flyte_restore_checkpoint(args);
  }
};

}  // namespace

std::vector<Integration> flyte_integrations() {
  Integration i;
  i.name = "flyte";
  i.make = make_flyte_callback;
  // Inside a Flyte execution only (FLYTE_INTERNAL_EXECUTION_ID), as a task's runs elsewhere have nowhere to sync.
  i.in_all = flyte_in_all;
  i.resend = flyte_sender_for_journal;
  i.summary = "checkpoints synced to --flyte_checkpoint_path (a path or s3://), the Log History deck";
  i.settings = "--flyte_checkpoint_path, --flyte_prev_checkpoint, --flyte_output_prefix, AWS_* for s3://";
  i.position = 110;
  i.checkpoint_source = std::make_shared<FlyteCheckpointSource>();
  return {i};
}

}  // namespace trainer
