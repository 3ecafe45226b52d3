#include "trainer/integrations/trackio/trackio_tracker.h"

#include <fstream>

#include "trainer/core/argument_spec.h"
#include "trainer/core/environment.h"
#include "trainer/core/local_time.h"
#include "trainer/core/logging.h"
#include "trainer/core/random_id.h"
#include "trainer/core/trainer_control.h"
#include "trainer/core/trainer_state.h"
#include "trainer/core/training_arguments.h"
#include "trainer/tracking/log_keys.h"

namespace trainer {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

// How long one write may wait for a busy database during training (on the writer thread); the
// rows wait for the next log when it is still busy.
constexpr std::chrono::milliseconds kWriteWait{500};

fs::path default_trackio_dir() {
  const std::string hf_home = env_string("HF_HOME");
  if (!hf_home.empty()) return fs::path(hf_home) / "trackio";
  const std::string home = env_string("HOME");
  return fs::path(home.empty() ? "." : home) / ".cache" / "huggingface" / "trackio";
}

}  // namespace

TrackioSettings TrackioSettings::from_environment(const TrainingArguments& args) {
  TrackioSettings s;
  const std::string project = env_string("TRACKIO_PROJECT");
  s.project = args.project != "huggingface" || project.empty() ? args.project : project;
  const std::string dir = env_string("TRACKIO_DIR");
  s.dir = dir.empty() ? default_trackio_dir() : fs::path(dir);
  std::error_code ec;
  if (fs::exists(s.dir, ec) && !fs::is_directory(s.dir, ec))
    throw ArgumentError("TRACKIO_DIR: " + s.dir.string() +
                        " is not a directory; point TRACKIO_DIR at a folder for trackio's databases");
  return s;
}

TrackioTracker::TrackioTracker(TrackioSettings settings, const TrainingArguments& args)
    : settings_(std::move(settings)),
      output_dir_(args.output_dir),
      flush_budget_(static_cast<int64_t>(args.tracker_flush_timeout * 1000)) {}

TrackioTracker::~TrackioTracker() {
  if (writer_) writer_->drain();
}

void TrackioTracker::start_run(const RunStart& run) {
  if (!env_string("TRACKIO_SPACE_ID").empty())
    log_warning(
        "TrackioCallback: TRACKIO_SPACE_ID is set, but remote Spaces are not supported here; the run is "
        "logged locally in " +
        settings_.dir.string() + " (unset TRACKIO_SPACE_ID to silence this)");
  const std::string restored_id = field_or<std::string>(restored_, "run_id", "");
  const bool continues = run.resumed && !restored_id.empty();
  run_id_ = continues ? restored_id : random_id(8);
  run_name_ = continues               ? field_or<std::string>(restored_, "run_name", run_id_)
              : !run.run_name.empty() ? run.run_name
                                      : "run-" + run_id_;
  next_step_ = continues ? field_or<int64_t>(restored_, "step", 0) : 0;
  pending_.run_id = run_id_;
  pending_.run_name = run_name_;
  pending_.config = run.combined_config();
  if (continues) {
    pending_.replace_from_step = next_step_;
    backfill_from_log_history();
  }
  writer_ = std::make_unique<BackgroundWriter>("trackio");
  const TrackioSettings settings = settings_;
  writer_->enqueue([this, settings] { db_ = std::make_unique<TrackioDatabase>(settings.dir, settings.project); });
  writer_->enqueue([this] { try_write(); });
  started_ = true;
  log_info("Trackio: run " + run_name_ + " in project " + settings_.project + " (" +
           (settings_.dir / (trackio_canonical_project(settings_.project) + ".db")).string() + ")");
}

// A log's row as trackio gets it: keys rewritten, the single values dropped, train/global_step
// added; null when nothing is left.
Json TrackioTracker::row_of(const Json& values, int64_t step) {
  Json row = Json::object();
  for (auto it = values.begin(); it != values.end(); ++it)
    if (!is_single_value_scalar(it.key())) row[rewrite_log_key(it.key())] = it.value();
  if (row.empty()) return nullptr;
  row["train/global_step"] = step;
  return row;
}

// On resume, the checkpoint's log_history says what the run's first rows are: any of them that the
// stopped process had not written yet (it may have died with rows still queued) are written now.
void TrackioTracker::backfill_from_log_history() {
  std::vector<Json> rows;
  for (const Json& entry : state().log_history) {
    Json values = entry;
    values.erase("step");
    Json row = row_of(values, field_or<int64_t>(entry, "step", 0));
    if (!row.is_null()) rows.push_back(std::move(row));
  }
  if (static_cast<int64_t>(rows.size()) != next_step_) {  // on_predict rows before the checkpoint
    log_warning("Trackio: the checkpoint's log_history has " + std::to_string(rows.size()) + " rows for trackio's " +
                std::to_string(next_step_) + "; rows the stopped process did not write are not filled in");
    return;
  }
  const std::string now = utc_time_iso8601();
  for (size_t i = 0; i < rows.size(); ++i)
    pending_.backfill.push_back({run_id_, run_name_, now, static_cast<int64_t>(i), std::move(rows[i])});
}

void TrackioTracker::add_row(Json metrics) {
  TrackioRow row{run_id_, run_name_, utc_time_iso8601(), next_step_++, std::move(metrics)};
  writer_->enqueue([this, row = std::move(row)]() mutable {
    pending_.rows.push_back(std::move(row));
    try_write();
  });
}

void TrackioTracker::log_metrics(const Json& values, int64_t step) {
  if (!started_) return;
  Json row = row_of(values, step);
  if (!row.is_null()) add_row(std::move(row));
}

void TrackioTracker::predicted(const Json& metrics) {
  if (!started_ || metrics.empty()) return;
  Json row = Json::object();
  for (auto it = metrics.begin(); it != metrics.end(); ++it) row[rewrite_log_key(it.key())] = it.value();
  add_row(std::move(row));
}

void TrackioTracker::write_pending(Clock::time_point deadline) {
  if (!db_ || (pending_.rows.empty() && pending_.config.is_null() && pending_.replace_from_step < 0 &&
               pending_.backfill.empty()))
    return;
  if (!db_->write(pending_, deadline)) {
    if (!warned_busy_)
      log_warning("Trackio: " + db_->path().string() +
                  " is busy (another process holds it); the rows wait and "
                  "are written when it is free (training goes on)");
    warned_busy_ = true;
    return;
  }
  if (warned_busy_) log_info("Trackio: " + db_->path().string() + " is free again; the waiting rows are written");
  warned_busy_ = false;
  pending_.rows.clear();
  pending_.backfill.clear();
  pending_.config = nullptr;
  pending_.replace_from_step = -1;
}

// A database found busy is not waited for again until it has been free once: the writer's queue
// keeps moving, and the rows pile up in one pending write.
void TrackioTracker::try_write() {
  write_pending(Clock::now() + (warned_busy_ ? std::chrono::milliseconds(0) : kWriteWait));
}

void TrackioTracker::checkpoint_saved() {
  if (started_) writer_->enqueue([this] { try_write(); });
}

// What the end's budget could not write: kept as JSON lines, with the command that says where they belong.
void TrackioTracker::keep_unwritten() {
  pending_.rows.insert(pending_.rows.begin(), pending_.backfill.begin(), pending_.backfill.end());
  pending_.backfill.clear();
  if (pending_.rows.empty()) return;
  const fs::path file = fs::path(output_dir_) / "tracking" / "trackio" / "unwritten.jsonl";
  fs::create_directories(file.parent_path());
  std::ofstream out(file, std::ios::app);
  for (const auto& row : pending_.rows)
    out << dump_json(Json{{"run_id", row.run_id},
                          {"run_name", row.run_name},
                          {"timestamp", row.timestamp},
                          {"step", row.step},
                          {"metrics", trackio_json(row.metrics)}},
                     {-1, false, false})
        << "\n";
  log_warning("Trackio: " + (db_ ? db_->path().string() : settings_.dir.string()) +
              " stayed busy for --tracker_flush_timeout=" + python_float_repr(flush_budget_.count() / 1000.0) + " s; " +
              std::to_string(pending_.rows.size()) + " rows are kept in " + file.string() +
              " (columns of the metrics table, one row per line)");
  pending_.rows.clear();
}

void TrackioTracker::finish(RunStatus status) {
  if (!started_) return;
  const Clock::time_point deadline = Clock::now() + flush_budget_;
  writer_->enqueue([this, deadline] {
    write_pending(deadline);
    keep_unwritten();
  });
  writer_->finish();
}

Json TrackioTracker::saved_state() const {
  if (!started_) return restored_;
  return Json{{"run_id", run_id_}, {"run_name", run_name_}, {"step", next_step_}};
}

void TrackioTracker::restore_state(const Json& state) { restored_ = state; }

void TrackioTracker::flush() {
  if (writer_) writer_->drain();
}

std::shared_ptr<StatefulTrackerCallback> make_trackio_callback() {
  TrackerTraits traits;
  traits.callback_name = "TrackioCallback";
  traits.keys = nullptr;                    // rewritten by the tracker: it drops the single values by their names
  traits.values = ValueFilter::everything;  // trackio stores any JSON value
  TrainingArguments defaults;
  TrackioSettings::from_environment(defaults);  // a bad TRACKIO_DIR stops the run before it starts
  return std::make_shared<StatefulTrackerCallback>(traits, [](const TrainingArguments& args) {
    return std::make_unique<TrackioTracker>(TrackioSettings::from_environment(args), args);
  });
}

bool trackio_in_all() { return !env_string("TRACKIO_DIR").empty(); }

}  // namespace trainer
