#include "sync_command.h"

#include <filesystem>
#include <iostream>
#include <stdexcept>

#include "trainer/core/argument_parser.h"
#include "trainer/core/exit_codes.h"
#include "trainer/core/run_files.h"
#include "trainer/core/training_arguments.h"
#include "trainer/integrations/registry.h"
#include "trainer/tracking/record_journal.h"
#include "trainer/tracking/record_sender.h"
#include "trainer/tracking/sync.h"

namespace trainer::cli {
namespace {

namespace fs = std::filesystem;

const char* kSyncDescription =
    "Without --report_to: sends what each remote tracker of the run left unsent (the journals under\n"
    "OUTPUT_DIR/tracking/, including those of earlier runs in the same directory, and offline runs) to the\n"
    "same remote run, exactly once. OUTPUT_DIR may also be one journal folder or a folder of them (an offline\n"
    "Comet experiment in COMET_OFFLINE_DIRECTORY). Credentials come from the environment, as when training\n"
    "(WANDB_API_KEY, COMET_API_KEY, MLFLOW_TRACKING_PASSWORD, ...).\n"
    "\n"
    "With --report_to: replays the run's log_history (trainer_state.json) into each named tracker as a\n"
    "new run, e.g. a run trained with --report_to none into MLflow afterwards.\n"
    "\n"
    "exit status: 0 everything sent, 1 records are still unsent (the journal keeps them; run it again)\n"
    "             or OUTPUT_DIR is not a run's directory,\n"
    "             2 bad arguments";

struct SyncOptions {
  std::string output_dir;
  double timeout = 300;
  std::vector<std::string> report_to;
};

// Parses the command line; nullopt when it asked for --help (printed here).
std::optional<SyncOptions> parse_sync_args(const std::vector<std::string>& tokens) {
  SyncOptions o;
  ArgumentParser parser("trainer sync", kSyncDescription);
  parser.add_positional("OUTPUT_DIR", &o.output_dir, "the run's --output_dir, a journal folder, or a folder of them");
  parser.add(bind_argument("timeout", &o.timeout, "How long to keep trying an unreachable server, in seconds."));
  parser.add(bind_argument("report_to", &o.report_to, "Trackers to replay the run's log_history into, as new runs."));
  parser.parse(tokens);
  if (parser.help_requested()) {
    std::cout << parser.help();
    return std::nullopt;
  }
  if (!(o.timeout >= 0)) throw ArgumentError("--timeout: must be >= 0");
  if (parser.given().count("report_to") && o.report_to.empty())
    throw ArgumentError("--report_to: needs at least one tracker name");
  return o;
}

std::chrono::milliseconds timeout_of(const SyncOptions& o) {
  return std::chrono::milliseconds(static_cast<int64_t>(o.timeout * 1000));
}

void print_folder(const JournalSync& s) {
  if (s.pending == 0) {
    std::cout << "trainer sync: " << s.dir.string() << ": everything was sent already\n";
    return;
  }
  std::cout << "trainer sync: " << s.dir.string() << ": sent " << s.sent << " records";
  if (s.rejected) std::cout << ", " << s.rejected << " refused (kept in " << s.rejected_path.string() << ")";
  if (s.unsent) std::cout << ", " << s.unsent << " still unsent";
  std::cout << "\n";
}

int send_journals(const SyncOptions& o) {
  const auto results = sync_journals(o.output_dir, timeout_of(o), sender_for_journal, print_folder);
  if (results.empty()) {
    std::cout << "trainer sync: " << o.output_dir
              << " has no tracker journals (tracking/*/journal.jsonl): nothing to send\n";
    return kOk;
  }
  int64_t left = 0;
  for (const JournalSync& s : results) left += s.unsent;
  if (left > 0) {
    std::cerr << "trainer sync: error: " << left
              << " records are still unsent (see the warnings above); the journals keep "
              << "them: run `trainer sync " << o.output_dir << "` again once the server answers\n";
    return kRuntimeError;
  }
  return kOk;
}

// The run's log_history through each named tracker, as events of a run that is already over.
int replay(const SyncOptions& o) {
  const fs::path dir = o.output_dir;
  const RunFiles run = read_run_files(dir);
  for (const std::string& name : o.report_to)
    if (fs::exists(dir / "tracking" / name))
      throw ArgumentError("--report_to " + name + ": " + o.output_dir + " already reported to " + name + " (" +
                          (dir / "tracking" / name).string() + "); `trainer sync " + o.output_dir +
                          "` without --report_to sends what it left");
  TrainingArguments args = run.args.is_object() ? TrainingArguments::from_json(run.args) : TrainingArguments();
  args.output_dir = o.output_dir;
  args.tracker_flush_timeout = o.timeout;
  args.report_to = o.report_to;
  const size_t entries =
      replay_log_history(run.state.value("log_history", Json::array()), args, integration_callbacks(o.report_to));
  std::cout << "trainer sync: replayed " << entries << " log_history entries of " << run.state_file.string() << "\n";
  int64_t left = 0;
  for (const std::string& name : o.report_to) {
    const fs::path journal = dir / "tracking" / name / "journal.jsonl";
    if (fs::exists(journal)) left += RecordJournal::summarize(journal).unacked();
  }
  if (left > 0) {
    std::cerr << "trainer sync: error: " << left << " records are still unsent; run `trainer sync " << o.output_dir
              << "` again once the server answers\n";
    return kRuntimeError;
  }
  return kOk;
}

}  // namespace

int run_sync(const std::vector<std::string>& args) {
  try {
    const std::optional<SyncOptions> o = parse_sync_args(args);
    if (!o) return kOk;
    return o->report_to.empty() ? send_journals(*o) : replay(*o);
  } catch (const ArgumentError& e) {
    std::cerr << "trainer sync: error: " << e.command_line_message() << "\n(trainer sync --help shows the usage)\n";
    return kUsageError;
  } catch (const std::exception& e) {
    std::cerr << "trainer sync: error: " << e.what() << "\n";
    return kRuntimeError;
  }
}

}  // namespace trainer::cli
