#pragma once
// FlyteCallback (`--report_to flyte`): the original's Flyte integration
// for a C++ program run as a Flyte raw-container task, which gets Flyte's template variables
// on its command line:
//   --flyte_checkpoint_path {{.checkpointOutputPrefix}}   each checkpoint is synced there
//   --flyte_prev_checkpoint {{.prevCheckpointPrefix}}     training resumes from it (Flyte's retries)
//   --flyte_output_prefix   {{.outputPrefix}}             the Log History deck (deck.html) goes there
// A location is a local (or mounted) path or s3://bucket/prefix (AWS_* variables, AWS_ENDPOINT_URL
// for self-hosted stores); empty or an unrendered template means none.
//
// Sync (sync_checkpoints): each checkpoint, once complete on disk, is uploaded through the one
// sender (off the training thread, retried, journaled under output_dir/tracking/flyte/, sent later by
// `trainer sync`) as <dest>/checkpoint-N/<file>; then <dest>/latest_checkpoint names it, and only
// then is the previous one deleted: the destination always holds one whole checkpoint.
// Deck (save_log_history): at the end of training, deck.html with a "Log History" table of every
// log_history row, in output_dir and under --flyte_output_prefix.

#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "trainer/core/json.h"
#include "trainer/tracking/tracker_callback.h"

namespace trainer {

struct TrainingArguments;
class RecordSender;

class FlyteCallback : public StatefulTrackerCallback {
 public:
  explicit FlyteCallback(bool save_log_history = true, bool sync_checkpoints = true);
  // A malformed s3:// location or AWS variables are refused here (ArgumentError), before training.
  void on_init_end(const Args& args, TrainerState& state, TrainerControl& control, CallbackContext& ctx) override;
};

std::shared_ptr<TrainerCallback> make_flyte_callback();
// Whether `--report_to all` adds it: inside a Flyte execution (FLYTE_INTERNAL_EXECUTION_ID set).
bool flyte_in_all();
std::unique_ptr<RecordSender> flyte_sender_for_journal(const std::filesystem::path& dir, const std::string& output_dir);

// --flyte_prev_checkpoint's checkpoint, downloaded into output_dir/checkpoint-N (the layout above,
// or the original's: a checkpoint's files at the prefix itself), for the Trainer to resume from;
// nullopt when there is none (the first attempt). Throws std::runtime_error naming the location
// when it cannot be read after a few tries.
std::optional<std::filesystem::path> flyte_restore_checkpoint(const TrainingArguments& args);

// The "Log History" deck: one HTML page with a table of `log_history` (a column per key, in the
// order keys first appear, as a pandas DataFrame renders; NaN where a row lacks the key).
std::string flyte_log_history_deck(const Json& log_history);

}  // namespace trainer
