#include "trainer/tracking/remote_tracker.h"

#include "trainer/core/file_snapshot.h"

#include <algorithm>

#include "trainer/core/argument_spec.h"
#include "trainer/core/atomic_file.h"
#include "trainer/core/local_time.h"
#include "trainer/core/logging.h"
#include "trainer/core/training_arguments.h"

namespace trainer {

namespace fs = std::filesystem;

RemoteTracker::RemoteTracker(std::string name, std::string display, const TrainingArguments& args)
    : name_(std::move(name)),
      display_(std::move(display)),
      output_dir_(args.output_dir),
      flush_budget_(static_cast<int64_t>(args.tracker_flush_timeout * 1000)) {}

RemoteTracker::~RemoteTracker() {
  if (sender_ && !sending_finished_ && !sender_->idle() && !sender_options_.offline) {
    const SenderReport r = sender_->finish(flush_budget_);
    if (r.unsent > 0)
      log_warning(display_ + ": " + std::to_string(r.unsent) + " records are not sent yet; they are kept in " +
                  sender_->journal_path().string() + "; send them with: trainer sync " + output_dir_);
  }
}

// A new run in a folder that an earlier run reported from: its journal moves aside (what it did
// not send is still sent by `trainer sync OUTPUT_DIR`, to that earlier run).
void RemoteTracker::set_aside_earlier_journal() {
  if (!fs::exists(dir_ / "journal.jsonl")) return;
  RecordJournal(dir_ / "journal.jsonl");  // throws JournalInUse while a live process writes it: never moved then
  const JournalSummary earlier = RecordJournal::summarize(dir_ / "journal.jsonl");
  fs::path aside;
  for (int i = 1;; ++i) {
    aside = dir_.string() + ".earlier-" + std::to_string(i);
    if (!fs::exists(aside)) break;
  }
  fs::rename(dir_, aside);
  if (earlier.unacked() > 0)
    log_warning(display_ + ": an earlier run in " + output_dir_ + " left " + std::to_string(earlier.unacked()) +
                " records unsent; they are kept in " + aside.string() + "; send them with: trainer sync " +
                output_dir_);
}

void RemoteTracker::count_logged_after(int64_t step) {
  RecordJournal::for_each_record(dir_ / "journal.jsonl", [&](const TrackingRecord& r) {
    if (r.type != "metrics") return;
    const int64_t s = field_or<int64_t>(r.body, "step", 0);
    if (s <= step || !r.body.contains("metrics")) return;
    for (auto it = r.body["metrics"].begin(); it != r.body["metrics"].end(); ++it) ++already_logged_[{it.key(), s}];
  });
}

std::unique_ptr<RecordSender> RemoteTracker::make_sender(const EndpointFactory& make_endpoint,
                                                         const std::string& resend_command) {
  SenderOptions options = sender_options_;
  options.resend_command = resend_command;
  try {
    return std::make_unique<RecordSender>(display_, dir_, make_endpoint(), options);
  } catch (const JournalInUse&) {
    throw;  // another process's journal is never moved: this tracker is turned off (TrackerCallback says why)
  } catch (const std::runtime_error& e) {  // a damaged journal: kept aside, a new one started
    const fs::path aside = dir_ / ("journal.damaged-" + std::to_string(unix_time_ms()) + ".jsonl");
    fs::rename(dir_ / "journal.jsonl", aside);
    log_warning(display_ + ": " + e.what() + "; it is kept as " + aside.string() + " and a new journal starts");
    return std::make_unique<RecordSender>(display_, dir_, make_endpoint(), options);
  }
}

void RemoteTracker::open_journal(const RunStart& run, const Json& meta, EndpointFactory make_endpoint,
                                 const fs::path& dir) {
  output_dir_ = run.output_dir;
  dir_ = dir.empty() ? fs::path(run.output_dir) / "tracking" / name_ : dir;
  if (!run.resumed) set_aside_earlier_journal();
  fs::create_directories(dir_);
  Json all{{"tracker", name_}, {"output_dir", run.output_dir}};
  all.update(meta);
  write_file_atomic(dir_ / "tracker.json", dump_json(all, {2, false, true}) + "\n", Durability::kSynced);
  sender_ = make_sender(make_endpoint, "trainer sync " + (dir.empty() ? run.output_dir : dir_.string()));
  if (run.resumed) count_logged_after(run.resume_step);
}

int64_t RemoteTracker::submit(std::string type, Json body) {
  sending_finished_ = false;  // a record after the end (a final evaluation): the tracker's end sends it
  return sender_->submit(std::move(type), std::move(body));
}

bool RemoteTracker::logged_before(const std::string& key, int64_t step) {
  auto logged = already_logged_.find({key, step});
  if (logged == already_logged_.end() || logged->second == 0) return false;
  --logged->second;
  return true;
}

int64_t RemoteTracker::next_timestamp() {
  last_timestamp_ = std::max(unix_time_ms(), last_timestamp_ + 1);
  return last_timestamp_;
}

std::vector<std::pair<fs::path, std::string>> RemoteTracker::output_dir_files() const {
  std::vector<std::pair<fs::path, std::string>> out;
  const fs::path root = output_dir_;
  for (auto it = fs::recursive_directory_iterator(root); it != fs::recursive_directory_iterator(); ++it) {
    if (it->path() == root / "tracking") {  // the journals are not part of the run's output
      it.disable_recursion_pending();
      continue;
    }
    if (it->is_regular_file()) out.emplace_back(it->path(), fs::relative(it->path(), root).generic_string());
  }
  return out;
}

fs::path RemoteTracker::stage(const fs::path& file, const std::string& relative) {
  const fs::path staged = dir_ / "staged" / relative;
  snapshot_file(file, staged);
  return staged;
}

void RemoteTracker::checkpoint_saved() {
  if (sender_) sender_->sync_journal();
}

void RemoteTracker::finish_sending(const std::string& what) {
  const SenderReport r = sender_->finish(flush_budget_);
  sending_finished_ = true;  // said once: the end does not say it again
  const std::string where = dir_.parent_path().filename() == "tracking" ? output_dir_ : dir_.string();
  if (sender_options_.offline) {
    log_warning(display_ + ": " + what + "; the run is offline (" + std::to_string(r.unsent) + " records kept in " +
                sender_->journal_path().string() + "); send it with: trainer sync " + where);
  } else if (r.unsent > 0) {
    log_warning(display_ + ": " + std::to_string(r.unsent) +
                " records could not be sent within --tracker_flush_timeout=" +
                python_float_repr(flush_budget_.count() / 1000.0) + " s; they are kept in " +
                sender_->journal_path().string() + "; send them with: trainer sync " + where);
  } else {
    log_info(display_ + ": " + what + ", every record delivered" +
             (r.rejected
                  ? " (" + std::to_string(r.rejected) + " refused, kept in " + sender_->rejected_path().string() + ")"
                  : ""));
  }
}

Json RemoteTracker::remote_run() const {
  const Json run = sender_ ? sender_->run() : Json();
  return run.is_object() ? run : restored_run_;
}

Json RemoteTracker::saved_state() const {
  // This state goes into a checkpoint, which a resume continues from (W&B's next history offset,
  // the records logged so far): every record it counts must be in the journal on disk before the
  // checkpoint can exist. on_save, which also syncs, comes after the checkpoint is published, and a
  // process killed in between would leave the resumed run a gap of records that were only in memory.
  if (sender_) sender_->sync_journal();
  const Json run = remote_run();
  return run.is_object() ? Json{{"run", run}} : Json::object();
}

void RemoteTracker::restore_state(const Json& state) { restored_run_ = state.value("run", Json()); }

std::unique_ptr<RecordSender> sender_for_journal_folder(
    const fs::path& dir, const std::string& output_dir,
    const std::function<std::unique_ptr<RemoteEndpoint>(const Json& meta)>& make_endpoint) {
  const Json meta = read_json_file(dir / "tracker.json");
  SenderOptions options;
  options.resend_command = "trainer sync " + output_dir;
  return std::make_unique<RecordSender>(required_field<std::string>(meta, "tracker"), dir, make_endpoint(meta),
                                        options);
}

}  // namespace trainer
