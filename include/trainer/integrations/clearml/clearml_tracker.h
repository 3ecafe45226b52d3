#pragma once
// ClearMLCallback (`--report_to clearml`): the original's ClearML integration
// on the tracker layer. See docs/integrations.md.
//   task      CLEARML_PROJECT / CLEARML_TASK; hyper-parameters (the arguments, flattened) under
//             Transformers, the model's configuration as the configuration object "Model
//             Configuration", both with the original's _ignore_*_overrides_ flags
//   scalars   each log's numbers: the single values (train_runtime, ..., epoch) as title Summary at
//             iteration -2^31; eval_X as title eval, series X; test_X as test; the rest as train;
//             NaN and infinities as 0, as the SDK reports them; at the global step
//   suffixes  a later train() in the same process adds _2, _3, ... to sections and titles
//   end       tasks.completed, or tasks.failed after an exception, tasks.stopped after SIGTERM
//   online    the REST API through the RecordSender (journal in output_dir/tracking/clearml/)
//   offline   CLEARML_OFFLINE_MODE=1: the SDK's offline session folder
//             <cache>/offline/offline-<hex>/ (task.json, metrics.jsonl, log.jsonl, data/) for
//             `clearml-task --import-offline-session`, and the journal, unsent, for `trainer sync`
//   models    CLEARML_LOG_MODEL (default true): each checkpoint zipped as the output model
//             checkpoint-N<suffix>, on the files server (offline: in the session's data/), the
//             oldest deleted beyond --save_total_limit

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "trainer/core/background_writer.h"
#include "trainer/integrations/clearml/clearml_settings.h"
#include "trainer/tracking/remote_tracker.h"
#include "trainer/tracking/tracker_callback.h"

namespace trainer {

class ClearMLOfflineSession;

class ClearMLTracker : public RemoteTracker {
 public:
  ClearMLTracker(ClearMLSettings settings, const TrainingArguments& args);
  ~ClearMLTracker() override;

  void start_run(const RunStart& run) override;
  void log_metrics(const Json& values, int64_t step) override;
  void log_artifact(const std::filesystem::path& dir, const std::string& name) override;
  void checkpoint_saved() override;
  void finish(RunStatus status) override;

 private:
  Json hyperparams(const RunStart& run) const;
  Json configuration(const RunStart& run) const;

  ClearMLSettings settings_;
  std::optional<int64_t> save_total_limit_;
  std::vector<std::string> models_;  // the output models logged, oldest first
  std::string suffix_;               // "", "_2", "_3", ... for each later train() of the process
  int run_number_ = 1;
  std::unique_ptr<ClearMLOfflineSession> offline_;
  std::unique_ptr<BackgroundWriter> writer_;  // writes offline_ off the training thread; goes first
  bool started_ = false;
};

std::shared_ptr<StatefulTrackerCallback> make_clearml_callback();
// `--report_to all` adds ClearML when credentials say where runs go, or CLEARML_OFFLINE_MODE.
bool clearml_in_all();
std::unique_ptr<RecordSender> clearml_sender_for_journal(const std::filesystem::path& dir,
                                                         const std::string& output_dir);

}  // namespace trainer
