#include "trainer/tracking/sync.h"

#include <algorithm>
#include <stdexcept>

#include "trainer/core/callback.h"
#include "trainer/core/trainer_control.h"
#include "trainer/core/trainer_state.h"
#include "trainer/core/training_arguments.h"
#include "trainer/tracking/record_journal.h"
#include "trainer/tracking/record_sender.h"

namespace trainer {

namespace fs = std::filesystem;

bool is_journal_folder(const fs::path& dir) {
  return fs::exists(dir / "journal.jsonl") && fs::exists(dir / "tracker.json");
}

std::vector<fs::path> journal_folders(const fs::path& dir) {
  if (is_journal_folder(dir)) return {dir};
  std::vector<fs::path> out;
  for (const fs::path& parent : {dir / "tracking", dir}) {
    if (!fs::is_directory(parent)) continue;
    for (const auto& e : fs::directory_iterator(parent))
      if (is_journal_folder(e.path())) out.push_back(e.path());
    if (!out.empty()) break;
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<JournalSync> sync_journals(const fs::path& dir, std::chrono::milliseconds timeout,
                                       const SenderForJournal& sender_for,
                                       const std::function<void(const JournalSync&)>& on_folder) {
  if (!fs::is_directory(dir))
    throw std::runtime_error(dir.string() + " is not a directory (give the run's --output_dir)");
  std::vector<JournalSync> out;
  for (const fs::path& folder : journal_folders(dir)) {
    JournalSync s;
    s.dir = folder;
    s.pending = RecordJournal::summarize(folder / "journal.jsonl").unacked();
    if (s.pending > 0) {
      auto sender = sender_for(folder, dir.string());
      const SenderReport r = sender->finish(timeout);
      s.rejected = r.rejected;
      s.unsent = r.unsent;
      s.sent = s.pending - r.unsent - r.rejected;
      s.rejected_path = sender->rejected_path();
    }
    if (on_folder) on_folder(s);
    out.push_back(std::move(s));
  }
  return out;
}

size_t replay_log_history(const Json& log_history, const TrainingArguments& args,
                          std::vector<std::shared_ptr<TrainerCallback>> callbacks) {
  TrainerState state;
  TrainerControl control;
  CallbackContext ctx;
  for (auto& cb : callbacks) cb->on_train_begin(args, state, control, ctx);
  size_t entries = 0;
  for (const Json& entry : log_history) {
    Json logs = entry;
    state.global_step = field_or<int64_t>(entry, "step", 0);
    logs.erase("step");
    ctx.logs = &logs;
    for (auto& cb : callbacks) cb->on_log(args, state, control, ctx);
    ++entries;
  }
  ctx.logs = nullptr;
  for (auto& cb : callbacks) cb->on_train_end(args, state, control, ctx);
  callbacks.clear();  // each tracker finishes sending here
  return entries;
}

}  // namespace trainer
