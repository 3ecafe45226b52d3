#pragma once
// NeptuneCallback (`--report_to neptune`): the original's deprecated Neptune integration
//. The hosted Neptune service shut down on 2026-03-05 and the
// original deprecates the callback; it is kept for self-hosted Neptune servers, offline only:
// it writes neptune-client 1.x's offline operation log, which `neptune sync` sends later.
//   .neptune/offline/run__<uuid>__<pid>__<random>/   (NEPTUNE_DATA_DIRECTORY replaces .neptune)
//     data-1.log          one JSON line per operation: {"obj": {...}, "version": N, "at": <unix s>}
//     last_put_version    N of the last operation written
//     last_ack_version    0: nothing has been acknowledged by a server
//     upload/checkpoint-N the files of a logged checkpoint (links), which UploadFileSet points at
// What it logs, as the original: sys/name; source_code/integrations/transformers; under
// base_namespace ("finetuning"): trainer_parameters/<arg> (log_parameters), model_parameters/<key>,
// each log's numbers as float series (train/loss, eval/loss, at the global step) except train/epoch,
// which is assigned; checkpoints with log_checkpoints: same (each under checkpoints), last (only the
// newest, under checkpoints/last), best (the best so far, under checkpoints/best; needs
// --load_best_model_at_end). Warns once that it is deprecated, and why. `--report_to all` leaves it out.

#include <memory>
#include <optional>
#include <string>

#include "trainer/tracking/tracker_callback.h"

namespace trainer {

enum class NeptuneCheckpoints { none, same, last, best };
// "same", "last", "best"; empty (or "none") is none. Throws ArgumentError naming the choices.
NeptuneCheckpoints parse_neptune_checkpoints(const std::string& value);

struct NeptuneOptions {
  std::string api_token;  // NEPTUNE_API_TOKEN when empty; never written anywhere
  std::string project;    // NEPTUNE_PROJECT when empty
  std::string name;       // the run's name (sys/name); --run_name when empty
  std::string base_namespace = "finetuning";
  bool log_parameters = true;
  NeptuneCheckpoints log_checkpoints = NeptuneCheckpoints::none;
  std::string data_directory;  // NEPTUNE_DATA_DIRECTORY, else ".neptune"
};

class NeptuneCallback : public TrackerCallback {
 public:
  explicit NeptuneCallback(NeptuneOptions options = {});
  // --log_checkpoints best without --load_best_model_at_end is refused here, as the original.
  void on_init_end(const Args& args, TrainerState& state, TrainerControl& control, CallbackContext& ctx) override;

 private:
  NeptuneCheckpoints log_checkpoints_;
};

// The callback --report_to neptune makes: options from NEPTUNE_* variables
// (NEPTUNE_LOG_CHECKPOINTS: same, last, best).
std::shared_ptr<TrainerCallback> make_neptune_callback();

}  // namespace trainer
