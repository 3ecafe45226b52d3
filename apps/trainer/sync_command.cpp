#include "sync_command.h"

#include <algorithm>
#include <filesystem>
#include <iostream>
#include <stdexcept>

#include "train_command.h"
#include "trainer/core/argument_spec.h"
#include "trainer/integrations/registry.h"
#include "trainer/integrations/run_files.h"
#include "trainer/tracking/record_sender.h"

namespace trainer::cli {
namespace {

namespace fs = std::filesystem;

const char* kSyncUsage =
    "usage: trainer sync OUTPUT_DIR [--timeout SECONDS] [--report_to NAME ...]\n"
    "\n"
    "Without --report_to: sends what each remote tracker of the run left unsent (the journals under\n"
    "OUTPUT_DIR/tracking/, including those of earlier runs in the same directory, and offline runs) to the\n"
    "same remote run, exactly once. OUTPUT_DIR may also be one journal folder or a folder of them (an offline\n"
    "Comet experiment in COMET_OFFLINE_DIRECTORY). Credentials come from the environment, as when training\n"
    "(WANDB_API_KEY, COMET_API_KEY, MLFLOW_TRACKING_PASSWORD, ...).\n"
    "\n"
    "With --report_to: replays the run's log_history (trainer_state.json) into each named tracker as a\n"
    "new run, e.g. a run trained with --report_to none into MLflow afterwards.\n"
    "\n"
    "  --timeout SECONDS  how long to keep trying an unreachable server (default 300)\n"
    "\n"
    "exit status: 0 everything sent, 1 records are still unsent (the journal keeps them; run it again)\n"
    "             or OUTPUT_DIR is not a run's directory,\n"
    "             2 bad arguments\n";

struct SyncOptions {
  fs::path output_dir;
  double timeout = 300;
  std::vector<std::string> report_to;
};

SyncOptions parse_sync_args(const std::vector<std::string>& args) {
  SyncOptions o;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--timeout") {
      if (i + 1 >= args.size()) throw ArgumentError("--timeout: needs a number of seconds");
      try {
        o.timeout = std::stod(args[++i]);
      } catch (const std::exception&) {
        throw ArgumentError("--timeout: expected a number of seconds, got '" + args[i] + "'");
      }
      if (!(o.timeout >= 0)) throw ArgumentError("--timeout: must be >= 0");
    } else if (a == "--report_to") {
      while (i + 1 < args.size() && args[i + 1].rfind("--", 0) != 0) o.report_to.push_back(args[++i]);
      if (o.report_to.empty()) throw ArgumentError("--report_to: needs at least one tracker name");
    } else if (a.rfind("--", 0) == 0) {
      throw ArgumentError("unknown flag '" + a + "'; valid: --timeout, --report_to");
    } else if (o.output_dir.empty()) {
      o.output_dir = a;
    } else {
      throw ArgumentError("expected one OUTPUT_DIR, got a second one: '" + a + "'");
    }
  }
  if (o.output_dir.empty()) throw ArgumentError("expected the run's output directory");
  return o;
}

bool is_journal_folder(const fs::path& dir) {
  return fs::exists(dir / "journal.jsonl") && fs::exists(dir / "tracker.json");
}

// The journal folders of DIR: DIR itself when it is one (an offline Comet experiment), else those
// under DIR/tracking/ (a run's output_dir), else those right under DIR (COMET_OFFLINE_DIRECTORY).
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

int send_journals(const SyncOptions& o) {
  if (!fs::is_directory(o.output_dir))
    throw std::runtime_error(o.output_dir.string() + " is not a directory (give the run's --output_dir)");
  const auto folders = journal_folders(o.output_dir);
  if (folders.empty()) {
    std::cout << "trainer sync: " << o.output_dir.string() << " has no tracker journals (tracking/*/journal.jsonl): nothing to send\n";
    return kOk;
  }
  int64_t left = 0;
  for (const fs::path& dir : folders) {
    const JournalSummary before = RecordJournal::summarize(dir / "journal.jsonl");
    if (before.unacked() == 0) {
      std::cout << "trainer sync: " << dir.string() << ": everything was sent already\n";
      continue;
    }
    auto sender = sender_for_journal(dir, o.output_dir.string());
    const SenderReport r = sender->finish(std::chrono::milliseconds(static_cast<int64_t>(o.timeout * 1000)));
    std::cout << "trainer sync: " << dir.string() << ": sent " << (before.unacked() - r.unsent - r.rejected) << " records";
    if (r.rejected) std::cout << ", " << r.rejected << " refused (kept in " << sender->rejected_path().string() << ")";
    if (r.unsent) std::cout << ", " << r.unsent << " still unsent";
    std::cout << "\n";
    left += r.unsent;
  }
  if (left > 0) {
    std::cerr << "trainer sync: error: " << left << " records are still unsent (see the warnings above); the journals keep "
              << "them: run `trainer sync " << o.output_dir.string() << "` again once the server answers\n";
    return kRuntimeError;
  }
  return kOk;
}

// The run's log_history through each named tracker, as events of a run that is already over.
int replay(const SyncOptions& o) {
  const RunFiles run = read_run_files(o.output_dir);
  for (const std::string& name : o.report_to)
    if (fs::exists(o.output_dir / "tracking" / name))
      throw ArgumentError("--report_to " + name + ": " + o.output_dir.string() + " already reported to " + name + " (" +
                          (o.output_dir / "tracking" / name).string() + "); `trainer sync " + o.output_dir.string() +
                          "` without --report_to sends what it left");
  TrainingArguments args = run.args.is_object() ? TrainingArguments::from_json(run.args) : TrainingArguments();
  args.output_dir = o.output_dir.string();
  args.tracker_flush_timeout = o.timeout;
  args.report_to = o.report_to;
  auto callbacks = integration_callbacks(o.report_to);
  TrainerState state;
  TrainerControl control;
  CallbackContext ctx;
  for (auto& cb : callbacks) cb->on_train_begin(args, state, control, ctx);
  size_t entries = 0;
  for (const Json& entry : run.state.value("log_history", Json::array())) {
    Json logs = entry;
    state.global_step = field_or<int64_t>(entry, "step", 0);
    logs.erase("step");
    ctx.logs = &logs;
    for (auto& cb : callbacks) cb->on_log(args, state, control, ctx);
    ++entries;
  }
  ctx.logs = nullptr;
  for (auto& cb : callbacks) cb->on_train_end(args, state, control, ctx);
  callbacks.clear();  // each tracker finishes sending (within --timeout) here
  std::cout << "trainer sync: replayed " << entries << " log_history entries of " << run.state_file.string() << "\n";
  int64_t left = 0;
  for (const std::string& name : o.report_to) {
    const fs::path journal = o.output_dir / "tracking" / name / "journal.jsonl";
    if (fs::exists(journal)) left += RecordJournal::summarize(journal).unacked();
  }
  if (left > 0) {
    std::cerr << "trainer sync: error: " << left << " records are still unsent; run `trainer sync " << o.output_dir.string()
              << "` again once the server answers\n";
    return kRuntimeError;
  }
  return kOk;
}

}  // namespace

int run_sync(const std::vector<std::string>& args) {
  if (args.size() == 1 && (args[0] == "--help" || args[0] == "-h")) {
    std::cout << kSyncUsage;
    return kOk;
  }
  try {
    const SyncOptions o = parse_sync_args(args);
    return o.report_to.empty() ? send_journals(o) : replay(o);
  } catch (const ArgumentError& e) {
    std::cerr << "trainer sync: error: " << e.command_line_message() << "\n\n" << kSyncUsage;
    return kUsageError;
  } catch (const std::exception& e) {
    std::cerr << "trainer sync: error: " << e.what() << "\n";
    return kRuntimeError;
  }
}

}  // namespace trainer::cli
