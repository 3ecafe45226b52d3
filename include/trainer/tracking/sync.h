#pragma once
// What `trainer sync` does, as library code:
//   sync_journals       continues every remote tracker's journal of a run (or one journal folder,
//                       or a folder of them) until each record is sent or the time is up
//   replay_log_history  feeds a finished run's log_history to trackers as the events of a run that
//                       is already over (a run trained with --report_to none, into MLflow later)
// Which sender continues a journal, and which trackers a replay goes to, the caller supplies (the
// program derives both from the integrations' registry), so this layer knows no service.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "trainer/core/json.h"

namespace trainer {

class RecordSender;
class TrainerCallback;
struct TrainingArguments;

// A folder a remote tracker journals into: it holds journal.jsonl and tracker.json.
bool is_journal_folder(const std::filesystem::path& dir);

// The journal folders of `dir`, sorted: `dir` itself when it is one (an offline Comet experiment),
// else those under dir/tracking/ (a run's output_dir), else those right under `dir`
// (COMET_OFFLINE_DIRECTORY). Empty when there are none.
std::vector<std::filesystem::path> journal_folders(const std::filesystem::path& dir);

// What became of one journal folder.
struct JournalSync {
  std::filesystem::path dir;
  int64_t pending = 0;  // records not yet acknowledged before this sync (0: everything was sent already)
  int64_t sent = 0;
  int64_t rejected = 0;  // refused by the service, kept in rejected_path
  int64_t unsent = 0;    // still waiting (the journal keeps them)
  std::filesystem::path rejected_path;
};

using SenderForJournal =
    std::function<std::unique_ptr<RecordSender>(const std::filesystem::path& dir, const std::string& output_dir)>;

// Sends what each journal folder of `dir` left unsent, each within `timeout`, reporting each folder
// to `on_folder` as it is done. Throws std::runtime_error when `dir` is not a directory, and what
// `sender_for` throws for a folder it cannot continue.
std::vector<JournalSync> sync_journals(const std::filesystem::path& dir, std::chrono::milliseconds timeout,
                                       const SenderForJournal& sender_for,
                                       const std::function<void(const JournalSync&)>& on_folder = nullptr);

// Fires on_train_begin, one on_log per entry of `log_history` (at its "step", which the logs do not
// carry, as the loop's), then on_train_end, on every callback; releases them at the end (each
// tracker finishes sending within its --tracker_flush_timeout there). Returns the entries replayed.
size_t replay_log_history(const Json& log_history, const TrainingArguments& args,
                          std::vector<std::shared_ptr<TrainerCallback>> callbacks);

}  // namespace trainer
