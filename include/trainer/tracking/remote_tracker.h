#pragma once
// RemoteTracker: what every tracker that talks to a service shares, on top of the RecordSender.
//   - its journal folder (output_dir/tracking/<name>/ unless the tracker puts it elsewhere) with
//     tracker.json: what `trainer sync` needs to reach the same run (never a secret)
//   - a new run in a folder an earlier run used moves the earlier journal aside (`trainer sync`
//     still sends what it left); a damaged journal is kept aside and a new one started
//   - on resume, the (key, step) points the stopped process already logged after the checkpoint,
//     so that they are not sent twice
//   - files staged (hard links, or copies) for records that upload them
//   - the journal synced at every checkpoint, the end of a run bounded by --tracker_flush_timeout,
//     and one message that names the sync command when records are left
//   - the remote run's identity kept in each checkpoint and given back on resume
// Subclasses say what records a run makes (log_metrics, start_run, finish) and which endpoint sends them.

#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "trainer/core/json.h"
#include "trainer/tracking/record_sender.h"
#include "trainer/tracking/tracker.h"

namespace trainer {

class RemoteTracker : public Tracker {
 public:
  using EndpointFactory = std::function<std::unique_ptr<RemoteEndpoint>()>;

  ~RemoteTracker() override;
  void checkpoint_saved() override;
  Json saved_state() const override;
  void restore_state(const Json& state) override;

  RecordSender* sender() { return sender_.get(); }
  const std::filesystem::path& directory() const { return dir_; }

 protected:
  // `name`: the journal's folder and tracker.json's "tracker" (the registry's name); `display`: messages.
  RemoteTracker(std::string name, std::string display, const TrainingArguments& args);

  // Opens the journal folder for `run` (`dir` empty: output_dir/tracking/<name>) with `meta` added
  // to tracker.json, and starts the sender. On resume, counts what was logged after the checkpoint.
  void open_journal(const RunStart& run, const Json& meta, EndpointFactory make_endpoint,
                    const std::filesystem::path& dir = {});
  int64_t submit(std::string type, Json body);
  // On resume: true (once per point the stopped process logged) when `key` at `step` was already
  // logged in a "metrics" record {step, metrics: {key: value}} after the checkpoint.
  bool logged_before(const std::string& key, int64_t step);
  // When values are logged, in ms since the epoch, and later than the previous log's: services that
  // keep one point per key, step, value and timestamp (MLflow's database store, Comet) would merge a
  // step's log and its evaluation (both carry `epoch`) within one millisecond, or a replayed history.
  int64_t next_timestamp();
  // Every file of output_dir but the trackers' journals (tracking/), with its path relative to
  // output_dir ("checkpoint-500/model.safetensors"): what trackers upload as the run's output.
  std::vector<std::pair<std::filesystem::path, std::string>> output_dir_files() const;
  // A snapshot of `file` under the journal folder's staged/<relative>, for a record that uploads it.
  std::filesystem::path stage(const std::filesystem::path& file, const std::string& relative);
  // Ends the sending within the flush budget and says what happened; `what` names the run in the
  // message ("run 1a2b FINISHED").
  void finish_sending(const std::string& what);
  // The remote run's identity last known (the journal's, or the checkpoint's before that).
  Json remote_run() const;
  const Json& restored_run() const { return restored_run_; }

  const std::string name_;
  const std::string display_;
  std::string output_dir_;
  std::filesystem::path dir_;
  std::chrono::milliseconds flush_budget_;
  std::unique_ptr<RecordSender> sender_;
  SenderOptions sender_options_;  // set before open_journal (the resend command is filled in)

 private:
  bool sending_finished_ = false;
  void set_aside_earlier_journal();
  void count_logged_after(int64_t step);
  std::unique_ptr<RecordSender> make_sender(const EndpointFactory& make_endpoint, const std::string& resend_command);

  Json restored_run_;
  int64_t last_timestamp_ = 0;
  std::map<std::pair<std::string, int64_t>, int> already_logged_;
};

// The sender that continues a journal folder a remote tracker left (`trainer sync`): tracker.json's
// contents go to `make_endpoint`.
std::unique_ptr<RecordSender> sender_for_journal_folder(
    const std::filesystem::path& dir, const std::string& output_dir,
    const std::function<std::unique_ptr<RemoteEndpoint>(const Json& meta)>& make_endpoint);

}  // namespace trainer
